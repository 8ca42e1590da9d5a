"""Utility measures: how much a person's label on an image is worth (higher = ask sooner).

Each takes class probabilities ``(n, k)`` and returns ``(n,)`` values in [0, 1], as modAL's
``uncertainty.py`` measures do, so they can be combined with any selector.
"""

from __future__ import annotations

import numpy as np

from labelloop.ml.query._validation import check_proba


def margin_uncertainty(proba: np.ndarray) -> np.ndarray:
    """1 - (top-1 minus top-2 probability): 1 when the two best classes tie."""
    proba = check_proba(proba)
    if proba.shape[1] == 1:
        return np.zeros(proba.shape[0])
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    return 1.0 - (top2[:, 0] - top2[:, 1])


def least_confidence(proba: np.ndarray) -> np.ndarray:
    """1 - top-1 probability, rescaled so that a uniform prediction scores 1."""
    proba = check_proba(proba)
    k = proba.shape[1]
    if k == 1:
        return np.zeros(proba.shape[0])
    return (1.0 - proba.max(axis=1)) * k / (k - 1)


def entropy_uncertainty(proba: np.ndarray) -> np.ndarray:
    """Shannon entropy divided by log(k): 1 for a uniform prediction."""
    proba = check_proba(proba)
    k = proba.shape[1]
    if k == 1:
        return np.zeros(proba.shape[0])
    clipped = np.clip(proba, 1e-12, 1.0)
    return -(proba * np.log(clipped)).sum(axis=1) / np.log(k)


#: Utility measures by the name ``select_next`` accepts.
UTILITIES = {
    "margin": margin_uncertainty,
    "least_confidence": least_confidence,
    "entropy": entropy_uncertainty,
}

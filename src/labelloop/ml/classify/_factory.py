"""Heads by the algorithm name the product exposes (ModelArts' ``algorithm_type``)."""

from __future__ import annotations

import numpy as np

from labelloop.ml.classify._accurate import AccurateHead
from labelloop.ml.classify._fast import FastHead
from labelloop.ml.classify._validation import check_embeddings

#: Algorithm name -> head class.
ALGORITHMS: dict[str, type] = {"fast": FastHead, "accurate": AccurateHead}


def make_head(algorithm: str, **options: object) -> FastHead | AccurateHead:
    """A new, unfitted head for ``algorithm`` (``"fast"`` or ``"accurate"``).

    ``options`` are passed to the head's constructor; an unknown option raises ValueError.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {sorted(ALGORITHMS)}, got {algorithm!r}")
    head_class = ALGORITHMS[algorithm]
    valid = set(head_class().get_params())
    unknown = sorted(set(options) - valid)
    if unknown:
        raise ValueError(
            f"unknown option(s) {unknown} for the {algorithm!r} head; valid: {sorted(valid)}"
        )
    return head_class(**options)


def average_views(X: np.ndarray, X_flip: np.ndarray | None) -> np.ndarray:
    """Mean of an image's embedding and its horizontally flipped view's (test-time augmentation).

    Measured at 5 labels a class it adds 0.5-2 points to the heads; with ``X_flip=None`` the
    embeddings are returned unchanged (as floats).
    """
    X = check_embeddings(X)
    if X_flip is None:
        return X
    X_flip = check_embeddings(X_flip, name="X_flip")
    if X_flip.shape != X.shape:
        raise ValueError(f"X_flip has shape {X_flip.shape}, X has {X.shape}")
    return (X + X_flip) / 2.0

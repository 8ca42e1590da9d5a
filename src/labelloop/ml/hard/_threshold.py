"""The hard flag threshold, derived from calibrated confidences rather than fixed."""

from __future__ import annotations

import numpy as np


def choose_threshold(
    hardness: np.ndarray, confidence: np.ndarray, *, target_precision: float
) -> tuple[float, np.ndarray]:
    """The largest threshold whose not-hard set reaches ``target_precision`` (estimated).

    Images are taken from easiest to hardest; the expected precision of the easiest ``m`` is
    the mean of their calibrated confidences. The not-hard set is the longest such prefix whose
    expected precision is at least ``target_precision`` (cut only between distinct hardness
    values, so equal images share a flag). Returns the threshold (images with hardness above it
    are hard; 0.0 when nothing qualifies, in which case every image is hard) and the flags.
    """
    order = np.argsort(hardness, kind="stable")
    sorted_hardness = hardness[order]
    running_precision = np.cumsum(confidence[order]) / np.arange(1, order.size + 1)
    # A cut after position i is allowed only where the next image is strictly harder.
    boundary = np.append(sorted_hardness[1:] > sorted_hardness[:-1], True)
    allowed = np.flatnonzero(boundary & (running_precision >= target_precision))
    if allowed.size == 0:
        return 0.0, np.ones(hardness.shape[0], dtype=bool)
    threshold = float(sorted_hardness[allowed[-1]])
    return threshold, hardness > threshold

"""Input checks at the public boundary of ``ml.hard``."""

from __future__ import annotations

import numpy as np

#: Rows of a probability matrix may deviate from summing to 1 by this much (float error).
_PROBA_SUM_TOLERANCE = 1e-3


def check_proba(proba: object, *, name: str = "proba", n_classes: int | None = None) -> np.ndarray:
    """``proba`` as a finite (n, k) float array with k >= 2 and rows summing to 1."""
    array = np.asarray(proba)
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(
            f"{name} must be a non-empty (n_images, n_classes) array, got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if array.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 classes (columns), got {array.shape[1]}")
    if n_classes is not None and array.shape[1] != n_classes:
        raise ValueError(f"{name} must have {n_classes} columns like proba, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if np.any(array < 0) or np.any(np.abs(array.sum(axis=1) - 1.0) > _PROBA_SUM_TOLERANCE):
        raise ValueError(f"{name} rows must be non-negative and sum to 1")
    return array


def check_targets(targets: object, n: int, n_classes: int, *, name: str) -> np.ndarray:
    """``targets`` as an int array of length ``n`` of column ids in [0, n_classes)."""
    array = np.asarray(targets)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integer column ids, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() >= n_classes):
        raise ValueError(
            f"{name} must be column ids in [0, {n_classes}), got [{array.min()}, {array.max()}]"
        )
    return array.astype(np.int64, copy=False)


def check_embeddings(
    X: object, *, name: str, n_rows: int | None = None, n_features: int | None = None
) -> np.ndarray:
    """``X`` as a finite 2-D float array, optionally with a given number of rows/columns."""
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_images, n_features), got {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"{name} must have {n_rows} rows, got {array.shape[0]}")
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(f"{name} must have {n_features} columns, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array

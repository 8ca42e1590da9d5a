"""Input checks at the public boundary of ``ml.hard``."""

from __future__ import annotations

import numpy as np

from labelloop.ml._checks import check_matrix
from labelloop.ml._checks import check_proba as _check_proba


def check_proba(proba: object, *, name: str = "proba", n_classes: int | None = None) -> np.ndarray:
    """``proba`` as a finite (n, k) float array with k >= 2 and rows summing to 1."""
    return _check_proba(proba, name=name, n_classes=n_classes, min_classes=2)


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
    return check_matrix(X, name=name, n_rows=n_rows, n_cols=n_features)

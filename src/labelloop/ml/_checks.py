"""Array checks shared by the ``ml`` packages: a clear ValueError at each public boundary,
naming the argument and what was wrong with it."""

from __future__ import annotations

import numpy as np

#: Rows of a probability matrix may deviate from summing to 1 by this much (float error).
PROBA_SUM_TOLERANCE = 1e-3


def check_matrix(
    values: object, *, name: str, n_rows: int | None = None, n_cols: int | None = None
) -> np.ndarray:
    """``values`` as a finite 2-D float array, optionally of a given number of rows/columns."""
    array = np.asarray(values)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if n_rows is not None and array.shape[0] != n_rows:
        raise ValueError(f"{name} must have {n_rows} rows, got {array.shape[0]}")
    if n_cols is not None and array.shape[1] != n_cols:
        raise ValueError(f"{name} must have {n_cols} columns, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


def check_proba(
    proba: object, *, name: str = "proba", n_classes: int | None = None, min_classes: int = 1
) -> np.ndarray:
    """``proba`` as a finite non-empty (n, k) float array, k >= ``min_classes`` (and
    = ``n_classes`` when given), of non-negative rows that sum to 1."""
    array = np.asarray(proba)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"{name} must be a non-empty (n_images, n_classes) array, got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if array.shape[1] < min_classes:
        raise ValueError(
            f"{name} needs at least {min_classes} classes (columns), got {array.shape[1]}"
        )
    if n_classes is not None and array.shape[1] != n_classes:
        raise ValueError(f"{name} must have {n_classes} columns like proba, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    if np.any(array < 0) or np.any(np.abs(array.sum(axis=1) - 1.0) > PROBA_SUM_TOLERANCE):
        raise ValueError(f"{name} rows must be non-negative and sum to 1")
    return array


def check_vector(values: object, n: int, *, name: str) -> np.ndarray:
    """``values`` as a finite 1-D float array of length ``n``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array

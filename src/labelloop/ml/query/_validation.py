"""Input checks at the public boundary of ``ml.query``."""

from __future__ import annotations

import numpy as np

#: Rows of a probability matrix may deviate from summing to 1 by this much (float error).
_PROBA_SUM_TOLERANCE = 1e-3


def check_proba(proba: object) -> np.ndarray:
    """``proba`` as a finite (n, k) float array of rows that sum to 1."""
    array = np.asarray(proba, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            f"proba must be a non-empty (n_images, n_classes) array, got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("proba holds NaN or infinite values")
    if np.any(array < 0) or np.any(np.abs(array.sum(axis=1) - 1.0) > _PROBA_SUM_TOLERANCE):
        raise ValueError("proba rows must be non-negative and sum to 1")
    return array


def check_vector(values: object, n: int, *, name: str) -> np.ndarray:
    """``values`` as a finite 1-D float array of length ``n``."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"{name} must be a 1-D array of length {n}, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return array


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

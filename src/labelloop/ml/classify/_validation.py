"""Input checks shared by the heads: clear ValueErrors at the public boundary."""

from __future__ import annotations

import numpy as np

#: Marker for an image without a label, as in ``sklearn.semi_supervised``.
UNLABELED = -1

#: A class needs at least this many labeled images for the heads to be trained.
MIN_LABELED_PER_CLASS = 1


def check_embeddings(X: object, *, name: str = "X") -> np.ndarray:
    """Return ``X`` as a 2-D float array; raise ValueError on a wrong shape or non-finite values."""
    array = np.asarray(X)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_images, n_features), got shape {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array).all(axis=1)))
        raise ValueError(f"{name} holds NaN or infinite values in {bad} row(s)")
    return array


def check_targets(y: object, n_samples: int, *, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-D int array of length ``n_samples`` with at least two labeled classes.

    Unlabeled samples are marked ``UNLABELED`` (-1); other values are class ids.
    """
    array = np.asarray(y)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class ids, got shape {array.shape}")
    if array.shape[0] != n_samples:
        raise ValueError(f"{name} has {array.shape[0]} entries but X has {n_samples} rows")
    if not np.issubdtype(array.dtype, np.integer):
        if (
            np.issubdtype(array.dtype, np.floating)
            and np.all(np.isfinite(array))
            and np.all(array == np.round(array))
        ):
            array = array.astype(np.int64)
        else:
            raise ValueError(
                f"{name} must hold integer class ids (-1 = unlabeled), got {array.dtype}"
            )
    if np.any(array < UNLABELED):
        raise ValueError(f"{name} holds negative ids other than {UNLABELED} (unlabeled)")
    classes = np.unique(array[array != UNLABELED])
    if classes.size < 2:
        raise ValueError(
            f"{name} needs labeled images of at least 2 classes, got {classes.size} "
            f"({classes.tolist()})"
        )
    return array.astype(np.int64, copy=False)

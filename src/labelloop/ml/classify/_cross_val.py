"""Out-of-fold probabilities of the labeled images, for calibration and hard-example thresholds."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from labelloop.ml.classify._validation import UNLABELED, check_embeddings, check_targets

#: Folds of the cross-validation; at 5 labels a class each fold holds out one image a class.
DEFAULT_FOLDS = 5


def cross_val_proba(
    head,
    X: np.ndarray,
    y: np.ndarray,
    *,
    n_folds: int = DEFAULT_FOLDS,
    random_state: int | None = 0,
) -> np.ndarray:
    """Out-of-fold ``(n_labeled, k)`` probabilities of the labeled images (rows of ``y != -1``).

    Each fold's held-out labeled images are turned into unlabeled ones (-1) rather than dropped,
    so a head that learns from unlabeled images sees exactly the situation of a real job: the
    images it is scored on are in ``X`` without their labels. Columns follow the sorted labeled
    classes; a class missing from a fold's training part gets probability 0 there.
    """
    X = check_embeddings(X)
    y = check_targets(y, X.shape[0])
    labeled = np.flatnonzero(y != UNLABELED)
    classes = np.unique(y[labeled])
    smallest = int(np.bincount(np.searchsorted(classes, y[labeled])).min())
    folds = min(n_folds, smallest)
    if folds < 2:
        raise ValueError(
            f"cross-validation needs at least 2 labeled images in every class, the smallest has "
            f"{smallest}"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    oof = np.zeros((labeled.size, classes.size))
    for _, held_out in splitter.split(labeled, y[labeled]):
        y_fold = y.copy()
        y_fold[labeled[held_out]] = UNLABELED
        model = clone(head).fit(X, y_fold)
        columns = np.searchsorted(classes, model.classes_)
        oof[np.ix_(held_out, columns)] = model.predict_proba(X[labeled[held_out]])
    return oof

"""Hardness of a smart-labeling job's predictions in one call: cross-validate, predict, score."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labelloop.ml.classify import UNLABELED, cross_val_proba
from labelloop.ml.hard._classification import (
    DEFAULT_TARGET_PRECISION,
    HardnessResult,
    score_hardness,
)
from labelloop.ml.hard._validation import check_embeddings

#: Folds of the cross-validation on the labeled images.
DEFAULT_FOLDS = 5


def score_classification_hardness(
    *,
    head_factory: Callable[[], object],
    X_labeled: np.ndarray,
    y_labeled: np.ndarray,
    X_scored: np.ndarray,
    X_scored_flipped: np.ndarray | None = None,
    X_scored_original: np.ndarray | None = None,
    fitted_head: object | None = None,
    unlabeled_for_cv: np.ndarray | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    n_folds: int = DEFAULT_FOLDS,
    random_state: int | None = 0,
) -> HardnessResult:
    """Predict ``X_scored`` and score every prediction's hardness (see ``score_hardness``).

    Parameters
    ----------
    head_factory:
        returns a new unfitted head (``make_head(algorithm)``); used for the cross-validation.
    X_labeled, y_labeled:
        the labeled images' embeddings (the view the head is trained on) and class ids.
    X_scored:
        embeddings of the images to predict, in the same view.
    X_scored_flipped, X_scored_original:
        the mirrored and the original view of the scored images when ``X_scored`` is their
        average; a prediction that changes in either gets code 4.
    fitted_head:
        the job's head, already fitted; fitted here on the labeled (and ``unlabeled_for_cv``)
        images when omitted.
    unlabeled_for_cv:
        embeddings of unlabeled images a transductive head learns from (``accurate``): every
        fit, the cross-validation folds included, sees them with label -1, so the held-out
        labeled images are predicted exactly as the job's unlabeled ones are.
    """
    X_labeled = check_embeddings(X_labeled, name="X_labeled")
    y_labeled = np.asarray(y_labeled)
    if y_labeled.ndim != 1 or y_labeled.shape[0] != X_labeled.shape[0]:
        raise ValueError(
            f"y_labeled must be 1-D with one class id per row of X_labeled "
            f"({X_labeled.shape[0]}), got shape {y_labeled.shape}"
        )
    if np.any(y_labeled == UNLABELED):
        raise ValueError("y_labeled must not hold the unlabeled marker -1")
    d = X_labeled.shape[1]
    X_scored = check_embeddings(X_scored, name="X_scored", n_features=d)
    extra = (
        np.empty((0, d))
        if unlabeled_for_cv is None
        else check_embeddings(unlabeled_for_cv, name="unlabeled_for_cv", n_features=d)
    )
    X_all = np.concatenate([X_labeled, extra])
    y_all = np.concatenate([y_labeled, np.full(extra.shape[0], UNLABELED)])
    if fitted_head is None:
        fitted_head = head_factory().fit(X_all, y_all)
    classes = np.unique(y_labeled)
    if not np.array_equal(np.asarray(fitted_head.classes_), classes):
        raise ValueError(
            f"fitted_head knows classes {list(fitted_head.classes_)}, the labeled images "
            f"{classes.tolist()}"
        )
    oof = cross_val_proba(head_factory(), X_all, y_all, n_folds=n_folds, random_state=random_state)
    views = [
        fitted_head.predict_proba(
            check_embeddings(view, name=name, n_rows=X_scored.shape[0], n_features=d)
        )
        for view, name in (
            (X_scored_original, "X_scored_original"),
            (X_scored_flipped, "X_scored_flipped"),
        )
        if view is not None
    ]
    return score_hardness(
        fitted_head.predict_proba(X_scored),
        oof_proba=oof,
        oof_targets=np.searchsorted(classes, y_labeled),
        augmented_probas=views,
        embeddings=X_scored,
        labeled_embeddings=X_labeled,
        labeled_targets=np.searchsorted(classes, y_labeled),
        classes=classes,
        target_precision=target_precision,
    )

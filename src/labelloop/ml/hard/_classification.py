"""Hard-example scoring for classification predictions (cleanlab-style pure function)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labelloop.ml.hard._calibration import apply_temperature, fit_temperature, shift_weights
from labelloop.ml.hard._neighbours import (
    cosine_space,
    distance_to_class,
    neighbour_vote,
    within_class_distances,
)
from labelloop.ml.hard._reasons import HardReason, reason
from labelloop.ml.hard._threshold import choose_threshold
from labelloop.ml.hard._validation import check_embeddings, check_proba, check_targets

#: Default precision the not-hard predictions must reach (estimated) to be bulk-confirmed.
DEFAULT_TARGET_PRECISION = 0.98
#: Margin between the two best calibrated probabilities below which code 1 is given.
LOW_MARGIN = 0.25
#: Labeled neighbours that vote on an image for code 2.
N_NEIGHBOURS = 5
#: Confidence bins of the importance weighting that adapts calibration to the scored images.
CALIBRATION_BINS = 5
#: Quantile of the labeled images' own nearest-same-class distances beyond which code 3 fires.
FAR_QUANTILE = 0.95


@dataclass(frozen=True)
class HardnessResult:
    """Per-image hardness of classification predictions, plus the job-level estimates.

    Attributes
    ----------
    predicted:
        ``(n,)`` predicted column of ``proba``.
    confidence:
        ``(n,)`` calibrated probability that the prediction is right.
    hard_coefficient:
        ``(n,)`` in [0, 1]; 1 is hardest.
    is_hard:
        ``(n,)`` ``hard_coefficient > threshold``.
    reasons:
        per image, a list of ``(code, text)`` (empty for most not-hard images).
    threshold:
        the data-derived flag threshold on ``hard_coefficient``.
    temperature:
        the calibration temperature fitted on the out-of-fold predictions.
    estimated_precision_not_hard:
        expected share of correct predictions among the not-hard images (NaN if there are
        none): what bulk-confirming them would get right, by the product's own estimate.
    estimated_accuracy:
        expected share of correct predictions among all scored images.
    target_precision:
        the precision the threshold was chosen to reach.
    cv_accuracy:
        accuracy of the out-of-fold predictions on the labeled images (before calibration).
    """

    predicted: np.ndarray
    confidence: np.ndarray
    hard_coefficient: np.ndarray
    is_hard: np.ndarray
    reasons: list[list[tuple[int, str]]]
    threshold: float
    temperature: float
    estimated_precision_not_hard: float
    estimated_accuracy: float
    target_precision: float
    cv_accuracy: float

    @property
    def n_hard(self) -> int:
        return int(self.is_hard.sum())


def _check_options(target_precision: float, n_neighbours: int) -> None:
    if not 0.0 < target_precision < 1.0:
        raise ValueError(f"target_precision must lie in (0, 1), got {target_precision}")
    if isinstance(n_neighbours, bool) or not isinstance(n_neighbours, int) or n_neighbours < 1:
        raise ValueError(f"n_neighbours must be a positive integer, got {n_neighbours!r}")


def score_hardness(
    proba: np.ndarray,
    *,
    oof_proba: np.ndarray,
    oof_targets: np.ndarray,
    augmented_probas: Sequence[np.ndarray] = (),
    embeddings: np.ndarray | None = None,
    labeled_embeddings: np.ndarray | None = None,
    labeled_targets: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    target_precision: float = DEFAULT_TARGET_PRECISION,
    n_neighbours: int = N_NEIGHBOURS,
) -> HardnessResult:
    """Hardness, hard flag and reasons of each prediction in ``proba``.

    Parameters
    ----------
    proba:
        ``(n, k)`` the head's probabilities for the images to score.
    oof_proba, oof_targets:
        out-of-fold ``(m, k)`` probabilities of the labeled images and their true *column*
        ids: the calibration set (temperature) behind every estimate here.
    augmented_probas:
        probabilities of the same images under test-time augmentations (e.g. the original and
        the mirrored view when ``proba`` is for their average); a prediction that changes in
        any of them gets code 4.
    embeddings, labeled_embeddings, labeled_targets:
        embeddings of the scored and of the labeled images, and the labeled images' column
        ids; needed for codes 2 (labeled neighbours disagree) and 3 (far from the class).
    classes:
        ``(k,)`` class ids of the columns (``predicted`` is reported in them); default
        ``arange(k)``.
    target_precision:
        the (estimated) precision the not-hard predictions must reach.
    n_neighbours:
        labeled neighbours that vote for code 2.

    The hard coefficient is ``1 - calibrated confidence``: the estimated probability that the
    prediction is wrong. Calibration is temperature scaling fitted on the out-of-fold
    predictions, each weighted so that their confidences are distributed like the scored
    images' (``shift_weights``): in a confirm-and-fix loop the labeled images are mostly ones
    people checked because they were hard, and an unweighted fit on them underrates the easy
    images left to confirm (measured with the accurate head: 1-2 more points of effort saved,
    see BENCHMARKS.md). The flag threshold is the largest one that keeps the estimated
    precision of the not-hard set at ``target_precision`` (see ``choose_threshold``), so it
    moves with the data instead of being a constant.
    """
    _check_options(target_precision, n_neighbours)
    proba = check_proba(proba)
    n, k = proba.shape
    oof_proba = check_proba(oof_proba, name="oof_proba", n_classes=k)
    oof_targets = check_targets(oof_targets, oof_proba.shape[0], k, name="oof_targets")
    views = [
        check_proba(view, name="augmented_probas[i]", n_classes=k) for view in augmented_probas
    ]
    for view in views:
        if view.shape[0] != n:
            raise ValueError(f"augmented_probas entries must have {n} rows like proba")
    classes = np.arange(k) if classes is None else np.asarray(classes)
    if classes.shape != (k,):
        raise ValueError(f"classes must have {k} entries (one per column), got {classes.shape}")

    weight = (
        shift_weights(oof_proba.max(axis=1), proba.max(axis=1), n_bins=CALIBRATION_BINS)
        if CALIBRATION_BINS > 1
        else None
    )
    temperature = fit_temperature(oof_proba, oof_targets, sample_weight=weight)
    calibrated = apply_temperature(proba, temperature)
    column = calibrated.argmax(axis=1)
    confidence = calibrated[np.arange(n), column]
    hardness = np.clip(1.0 - confidence, 0.0, 1.0)
    threshold, is_hard = choose_threshold(hardness, confidence, target_precision=target_precision)

    flags = {HardReason.LOW_CONFIDENCE: is_hard | (_margin(calibrated) < LOW_MARGIN)}
    if views:
        flags[HardReason.UNSTABLE_UNDER_AUGMENTATION] = np.any(
            [view.argmax(axis=1) != column for view in views], axis=0
        )
    if embeddings is not None or labeled_embeddings is not None or labeled_targets is not None:
        flags.update(
            _neighbourhood_flags(
                column, embeddings, labeled_embeddings, labeled_targets, k, n_neighbours
            )
        )
    reasons = [[reason(code) for code in sorted(flags) if flags[code][i]] for i in range(n)]
    not_hard = ~is_hard
    return HardnessResult(
        predicted=classes[column],
        confidence=confidence,
        hard_coefficient=hardness,
        is_hard=is_hard,
        reasons=reasons,
        threshold=threshold,
        temperature=temperature,
        estimated_precision_not_hard=float(confidence[not_hard].mean())
        if not_hard.any()
        else float("nan"),
        estimated_accuracy=float(confidence.mean()),
        target_precision=float(target_precision),
        cv_accuracy=float(np.mean(oof_proba.argmax(axis=1) == oof_targets)),
    )


def _margin(proba: np.ndarray) -> np.ndarray:
    top2 = -np.partition(-proba, 1, axis=1)[:, :2]
    return top2[:, 0] - top2[:, 1]


def _neighbourhood_flags(
    column: np.ndarray,
    embeddings: np.ndarray | None,
    labeled_embeddings: np.ndarray | None,
    labeled_targets: np.ndarray | None,
    n_classes: int,
    n_neighbours: int,
) -> dict[HardReason, np.ndarray]:
    """Codes 2 and 3 from the scored images' positions relative to the labeled ones."""
    if embeddings is None or labeled_embeddings is None or labeled_targets is None:
        raise ValueError(
            "embeddings, labeled_embeddings and labeled_targets go together: pass all or none"
        )
    scored = check_embeddings(embeddings, name="embeddings", n_rows=column.shape[0])
    labeled = check_embeddings(
        labeled_embeddings, name="labeled_embeddings", n_features=scored.shape[1]
    )
    targets = check_targets(labeled_targets, labeled.shape[0], n_classes, name="labeled_targets")
    scored, labeled = cosine_space(scored, labeled)
    similarity = scored @ labeled.T
    vote = neighbour_vote(similarity, targets, n_classes, n_neighbours)
    disagree = vote.argmax(axis=1) != column
    distance = distance_to_class(similarity, targets, column)
    reference = within_class_distances(labeled, targets)
    # Without two labeled images of one class there is no "usual" distance to compare with.
    far = (
        distance > np.quantile(reference, FAR_QUANTILE)
        if reference.size
        else np.zeros(column.shape[0], dtype=bool)
    )
    return {HardReason.NEIGHBOURS_DISAGREE: disagree, HardReason.FAR_FROM_CLASS: far}

"""Hard examples of classification: coefficient, data-derived flag threshold, reasons."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.ml.classify import UNLABELED, make_head
from labelloop.ml.hard import (
    HardnessResult,
    HardReason,
    choose_threshold,
    score_classification_hardness,
    score_hardness,
)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def calibration_set(*, n=200, k=3, accuracy=0.9, confidence=0.9, seed=0):
    """Out-of-fold probabilities whose top class is right ``accuracy`` of the time."""
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, k, size=n)
    top = np.where(rng.random(n) < accuracy, targets, (targets + 1) % k)
    proba = np.full((n, k), (1 - confidence) / (k - 1))
    proba[np.arange(n), top] = confidence
    return proba, targets


def codes(result: HardnessResult, i: int) -> set[int]:
    return {code for code, _ in result.reasons[i]}


def test_coefficient_in_unit_interval_and_flags_follow_the_threshold():
    rng = np.random.default_rng(1)
    proba = softmax(rng.normal(size=(300, 4)) * 3)
    oof, targets = calibration_set(k=4)
    result = score_hardness(proba, oof_proba=oof, oof_targets=targets)
    assert result.hard_coefficient.shape == (300,)
    assert np.all((result.hard_coefficient >= 0) & (result.hard_coefficient <= 1))
    assert np.array_equal(result.is_hard, result.hard_coefficient > result.threshold)
    assert len(result.reasons) == 300
    assert np.all(np.isin(result.predicted, np.arange(4)))


def test_threshold_comes_from_the_data():
    rng = np.random.default_rng(2)
    proba = softmax(rng.normal(size=(400, 3)) * 3)
    oof_good, targets_good = calibration_set(accuracy=0.97, confidence=0.9)
    oof_poor, targets_poor = calibration_set(accuracy=0.6, confidence=0.9)
    trusting = score_hardness(proba, oof_proba=oof_good, oof_targets=targets_good)
    doubting = score_hardness(proba, oof_proba=oof_poor, oof_targets=targets_poor)
    # A model that was often wrong out of fold gets a higher temperature, so fewer of its
    # predictions can be bulk-confirmed at the same target precision.
    assert doubting.temperature > trusting.temperature
    assert doubting.n_hard > trusting.n_hard
    assert trusting.threshold != doubting.threshold
    strict = score_hardness(
        proba, oof_proba=oof_good, oof_targets=targets_good, target_precision=0.995
    )
    assert strict.n_hard >= trusting.n_hard


def test_not_hard_set_meets_its_estimated_precision():
    rng = np.random.default_rng(3)
    proba = softmax(rng.normal(size=(500, 3)) * 4)
    oof, targets = calibration_set(accuracy=0.9, confidence=0.9)
    result = score_hardness(proba, oof_proba=oof, oof_targets=targets, target_precision=0.95)
    not_hard = ~result.is_hard
    assert not_hard.any()
    assert result.estimated_precision_not_hard >= 0.95
    assert np.isclose(result.estimated_precision_not_hard, result.confidence[not_hard].mean())
    assert result.estimated_accuracy <= result.estimated_precision_not_hard


def test_choose_threshold_edge_cases():
    hardness = np.array([0.0, 0.1, 0.1, 0.5])
    confidence = 1.0 - hardness
    threshold, hard = choose_threshold(hardness, confidence, target_precision=0.9)
    assert threshold == pytest.approx(0.1) and hard.tolist() == [False, False, False, True]
    # Nothing reaches the target: everything is hard.
    threshold, hard = choose_threshold(hardness + 0.5, confidence - 0.5, target_precision=0.99)
    assert hard.all()


def test_low_confidence_gets_code_1():
    proba = np.array([[0.998, 0.001, 0.001], [0.4, 0.35, 0.25]])
    oof, targets = calibration_set(accuracy=0.95, confidence=0.95)
    result = score_hardness(proba, oof_proba=oof, oof_targets=targets, target_precision=0.95)
    assert HardReason.LOW_CONFIDENCE not in codes(result, 0)
    assert HardReason.LOW_CONFIDENCE in codes(result, 1)
    assert result.is_hard[1] and not result.is_hard[0]


def test_prediction_that_changes_under_flip_gets_code_4():
    proba = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05]])
    flipped = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1]])
    oof, targets = calibration_set()
    result = score_hardness(proba, oof_proba=oof, oof_targets=targets, augmented_probas=[flipped])
    assert HardReason.UNSTABLE_UNDER_AUGMENTATION not in codes(result, 0)
    assert HardReason.UNSTABLE_UNDER_AUGMENTATION in codes(result, 1)
    assert (4, "prediction changes when the image is flipped") in result.reasons[1]


def test_neighbours_and_distance_give_codes_2_and_3():
    rng = np.random.default_rng(4)
    centres = np.eye(3, 16) * 10
    labeled = np.concatenate([c + rng.normal(size=(5, 16)) * 0.5 for c in centres])
    labeled_targets = np.repeat(np.arange(3), 5)
    scored = np.stack(
        [
            centres[0] + rng.normal(size=16) * 0.5,  # sits among class 0, predicted 0
            centres[1] + rng.normal(size=16) * 0.5,  # sits among class 1, predicted 0
            -centres[2] * 3,  # far from everything, predicted 2
        ]
    )
    proba = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.05, 0.9]])
    oof, targets = calibration_set()
    result = score_hardness(
        proba,
        oof_proba=oof,
        oof_targets=targets,
        embeddings=scored,
        labeled_embeddings=labeled,
        labeled_targets=labeled_targets,
    )
    assert HardReason.NEIGHBOURS_DISAGREE not in codes(result, 0)
    assert HardReason.FAR_FROM_CLASS not in codes(result, 0)
    assert HardReason.NEIGHBOURS_DISAGREE in codes(result, 1)
    assert HardReason.FAR_FROM_CLASS in codes(result, 2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"proba": np.ones(3)}, "proba must be"),
        ({"proba": np.array([[np.nan, 1.0]])}, "NaN"),
        ({"proba": np.array([[0.5, 0.2]])}, "sum to 1"),
        ({"proba": np.array([[1.0], [1.0]])}, "at least 2 classes"),
        ({"oof_proba": np.ones((2, 5)) / 5}, "3 columns"),
        ({"oof_targets": np.array([0, 7])}, "column ids"),
        ({"augmented_probas": [np.ones((5, 3)) / 3]}, "rows like proba"),
        ({"target_precision": 1.5}, "target_precision"),
        ({"embeddings": np.ones((2, 4))}, "pass all or none"),
    ],
)
def test_bad_input_raises_value_error(kwargs, message):
    arguments = {
        "proba": np.array([[0.8, 0.1, 0.1], [0.3, 0.4, 0.3]]),
        "oof_proba": np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1]]),
        "oof_targets": np.array([0, 1]),
    }
    arguments.update(kwargs)
    proba = arguments.pop("proba")
    with pytest.raises(ValueError, match=message):
        score_hardness(proba, **arguments)


def blobs(seed=0, n_classes=3, per_class=40, dim=32):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3
    X = np.abs(np.concatenate([c + rng.normal(size=(per_class, dim)) for c in centres]))
    return X, np.repeat(np.arange(n_classes), per_class)


@pytest.mark.parametrize("algorithm", ["fast", "accurate"])
def test_job_level_call_cross_validates_and_scores(algorithm):
    X, y = blobs()
    labeled = np.concatenate([np.flatnonzero(y == c)[:5] for c in range(3)])
    scored = np.setdiff1d(np.arange(y.size), labeled)
    result = score_classification_hardness(
        head_factory=lambda: make_head(algorithm),
        X_labeled=X[labeled],
        y_labeled=y[labeled],
        X_scored=X[scored],
        X_scored_flipped=X[scored] * 1.01,
        X_scored_original=X[scored],
        unlabeled_for_cv=X[scored] if algorithm == "accurate" else None,
    )
    assert result.predicted.shape == (scored.size,)
    assert np.mean(result.predicted == y[scored]) > 0.9
    assert 0.0 <= result.cv_accuracy <= 1.0
    assert result.temperature > 0


def test_job_level_call_rejects_mismatched_inputs():
    X, y = blobs()
    with pytest.raises(ValueError, match="y_labeled"):
        score_classification_hardness(
            head_factory=lambda: make_head("fast"), X_labeled=X, y_labeled=y[:-1], X_scored=X
        )
    with pytest.raises(ValueError, match="-1"):
        score_classification_hardness(
            head_factory=lambda: make_head("fast"),
            X_labeled=X,
            y_labeled=np.where(np.arange(y.size) == 0, UNLABELED, y),
            X_scored=X,
        )
    with pytest.raises(ValueError, match="at least 2 classes"):
        score_classification_hardness(
            head_factory=lambda: make_head("fast"),
            X_labeled=X[:10],
            y_labeled=np.zeros(10, dtype=int),
            X_scored=X,
        )

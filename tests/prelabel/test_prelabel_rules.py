"""Pure rules of pre-labeling: label mapping and confidence-based hard flags."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.domain import InvalidInput
from labelloop.ml.runtime.confidence import (
    classification_hardness,
    detection_hardness,
    pairwise_iou,
)
from labelloop.services.label_mapping import resolve_mapping


def test_mapping_exact_then_case_insensitive_and_reports_both_sides():
    m = resolve_mapping(["cat", "Dog", "horse"], ["cat", "dog", "bird"])
    assert m.to_label == {"cat": "cat", "Dog": "dog"}
    assert m.how == {"cat": "exact", "Dog": "case-insensitive"}
    assert m.unmapped_classes == ("horse",)
    assert m.labels_without_class == ("bird",)


def test_explicit_mapping_wins_and_may_merge_classes():
    m = resolve_mapping(["cat", "kitten", "dog"], ["cat", "dog"], {"kitten": "cat", "dog": "cat"})
    assert m.to_label == {"cat": "cat", "kitten": "cat", "dog": "cat"}
    assert m.how["dog"] == "explicit"
    assert m.labels_without_class == ("dog",)


def test_ambiguous_case_insensitive_match_is_left_unmapped_and_reported():
    m = resolve_mapping(["CAT", "dog"], ["Cat", "cat", "dog"])
    assert "CAT" in m.unmapped_classes
    assert m.ambiguous_classes == {"CAT": ["Cat", "cat"]}


def test_mapping_errors_name_the_problem():
    with pytest.raises(InvalidInput, match="no class 'wolf'"):
        resolve_mapping(["cat"], ["cat"], {"wolf": "cat"})
    with pytest.raises(InvalidInput, match="no label 'tiger'"):
        resolve_mapping(["cat"], ["cat"], {"cat": "tiger"})
    with pytest.raises(InvalidInput, match="none of the model's classes"):
        resolve_mapping(["car", "bus"], ["cat", "dog"])


def test_classification_hardness_low_top_small_margin_unknown():
    scores = np.array(
        [
            [0.95, 0.05],  # confident
            [0.45, 0.30],  # low top (the rest went to an unmapped class)
            [0.55, 0.45],  # small margin
            [np.nan, np.nan],  # no score at all
        ]
    )
    h = classification_hardness(scores)
    assert h.hard.tolist() == [False, True, True, True]
    assert h.top.tolist()[:3] == [0, 0, 0]
    np.testing.assert_allclose(h.coefficient[:3], [0.1, 0.85, 0.9])
    assert h.coefficient[3] == 1.0
    assert "top probability 0.45" in h.reasons[1][0][1]
    assert "margin 0.10" in h.reasons[2][0][1]
    assert h.reasons[0] == []


def test_detection_hardness_types():
    box = [0, 0, 10, 10]
    far = [50, 50, 60, 60]
    sure = detection_hardness(np.array([box]), np.array([0.95]))
    assert sure.hard_type == "none" and sure.shown.tolist() == [True]
    shaky = detection_hardness(np.array([box, far]), np.array([0.6, 0.9]))
    assert shaky.hard_type == "false_detection" and shaky.coefficient >= 0.5
    missed = detection_hardness(np.array([box, far]), np.array([0.9, 0.3]))
    assert missed.hard_type == "missed_detection" and missed.hints.tolist() == [False, True]
    # A weak candidate on top of a shown box is the same object, not a missed one.
    same = detection_hardness(np.array([box, [1, 1, 10, 10]]), np.array([0.9, 0.3]))
    assert same.hard_type == "none" and not same.hints.any()
    nothing = detection_hardness(np.zeros((0, 4)), np.zeros(0))
    assert nothing.hard_type == "missed_detection" and nothing.reasons[0][0] == 0
    unscored = detection_hardness(np.array([box]), np.array([np.nan]))
    assert unscored.hard_type == "false_detection" and unscored.shown.all()


def test_pairwise_iou():
    iou = pairwise_iou(np.array([[0, 0, 10, 10]]), np.array([[0, 0, 10, 10], [5, 0, 15, 10]]))
    np.testing.assert_allclose(iou, [[1.0, 1 / 3]])

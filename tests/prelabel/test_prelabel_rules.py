"""Pure rules of pre-labeling: label mapping and confidence-based hard flags."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.domain import InvalidInput
from labelloop.ml.hard import Candidates, DetectionHardnessStats
from labelloop.ml.hard import detection_hardness as active_learning_typing
from labelloop.ml.runtime.confidence import (
    HARD_THRESHOLD,
    HINT_THRESHOLD,
    SHOW_THRESHOLD,
    classification_hardness,
    detection_hardness,
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


def test_a_models_own_confidence_floor_replaces_the_default():
    # A model exported from a job carries the floor that job flagged hard below.
    scores = np.array([[0.97, 0.03], [0.9, 0.1], [1.0, 0.0]])
    assert classification_hardness(scores).hard.tolist() == [False, False, False]
    strict = classification_hardness(scores, min_top_probability=0.95)
    assert strict.hard.tolist() == [False, True, False]
    assert "top probability 0.90 < 0.95" in strict.reasons[1][0][1]
    every = classification_hardness(scores, min_top_probability=1.0)  # the job checked all
    assert every.hard.tolist() == [True, True, True]
    assert "flagged every proposal hard" in every.reasons[2][0][1]


BOX = [0, 0, 10, 10]
FAR = [50, 50, 60, 60]


def typed(boxes, scores, labels=None):
    return detection_hardness(np.array(boxes).reshape(-1, 4), np.array(scores), labels)


def test_only_a_doubtful_shown_box_is_a_false_detection():
    h = typed([BOX], [0.6])
    assert h.hard_type == "false_detection" and h.shown.tolist() == [True]
    assert h.coefficient == pytest.approx(0.4) and h.p_false == pytest.approx(0.4)
    assert h.reasons == [(1, "a proposed box scores 0.60 (P(a proposed box is wrong) 0.40)")]
    assert typed([BOX], [0.95]).hard_type == "none"


def test_only_a_strong_hint_overlapping_nothing_is_a_missed_detection():
    # Beside a sure box: the hint alone makes the image hard and types it.
    h = typed([BOX, FAR], [0.97, 0.45])
    assert h.hard_type == "missed_detection"
    assert h.hints.tolist() == [False, True] and h.shown.tolist() == [True, False]
    assert h.p_missed == pytest.approx(0.45)
    assert h.reasons == [(11, "a candidate box scoring 0.45 (< 0.50) has no proposed box")]
    # Alone: nothing is shown, so it is missed for sure.
    alone = typed([FAR], [0.45])
    assert alone.hard_type == "missed_detection" and alone.hints.tolist() == [True]
    assert alone.coefficient == 1.0 and alone.reasons[0] == (0, "no object found")
    # A weak candidate on top of a shown box is the same object, not a missed one.
    same = typed([BOX, [1, 1, 10, 10]], [0.9, 0.3])
    assert same.hard_type == "none" and not same.hints.any()


@pytest.mark.parametrize(
    ("box_score", "hint_score", "expected"),
    [
        (0.65, 0.45, "missed_detection"),  # P(box wrong) 0.35 < P(hint real) 0.45
        (0.55, 0.30, "false_detection"),  # 0.45 >= 0.30
        (0.60, 0.40, "false_detection"),  # a tie goes to the box, as in active learning
    ],
)
def test_a_doubtful_box_and_a_hint_are_decided_by_the_larger_risk(box_score, hint_score, expected):
    h = typed([BOX, FAR], [box_score, hint_score])
    assert h.hard_type == expected
    assert h.p_false == pytest.approx(1 - box_score)
    assert h.p_missed == pytest.approx(hint_score)
    assert h.coefficient == pytest.approx(1 - box_score * (1 - hint_score))
    assert h.hints.tolist() == [False, True]


def test_nothing_shown_is_missed_and_an_unscored_box_is_false():
    nothing = typed(np.zeros((0, 4)), [])
    assert nothing.hard_type == "missed_detection" and nothing.coefficient == 1.0
    assert nothing.reasons == [(0, "no object found")]
    weak = typed([BOX], [0.2])  # below the hint threshold: not even a hint
    assert weak.hard_type == "missed_detection" and not weak.shown.any() and not weak.hints.any()
    unscored = typed([BOX, FAR], [np.nan, 0.45])
    assert unscored.hard_type == "false_detection" and unscored.shown.tolist() == [True, False]
    assert unscored.coefficient == 1.0 and (1, "a proposed box has no score") in unscored.reasons


def test_an_image_is_hard_from_its_weakest_item_and_ranked_by_all_of_them():
    # Uncalibrated scores: a crowded image of confident boxes is not hard (the product would
    # flag 15 cells at 0.9), but its coefficient, which ranks images, counts every box.
    four = typed([[i * 20, 0, i * 20 + 10, 10] for i in range(4)], [0.8] * 4)
    assert four.hard_type == "none"
    assert four.coefficient == pytest.approx(1 - 0.8**4)
    crowd = typed([[i * 20, 0, i * 20 + 10, 10] for i in range(15)], [0.9] * 15)
    assert crowd.hard_type == "none" and crowd.coefficient > 0.7
    one_weak = typed([[i * 20, 0, i * 20 + 10, 10] for i in range(4)], [0.9, 0.9, 0.9, 0.65])
    assert one_weak.hard_type == "false_detection"
    assert typed([BOX], [0.8]).hard_type == "none"


def test_duplicate_boxes_and_class_ambiguity_are_doubted_as_in_active_learning():
    twin = [0, 0, 10, 11]  # IoU 0.91 with BOX
    duplicate = typed([BOX, twin], [0.95, 0.9], ["cat", "cat"])
    assert duplicate.hard_type == "false_detection"
    assert any(code == 10 for code, _ in duplicate.reasons)  # two boxes cover one object
    ambiguous = typed([BOX, twin], [0.95, 0.9], ["cat", "dog"])
    assert ambiguous.hard_type == "false_detection"
    assert any(code == 13 for code, _ in ambiguous.reasons)  # another label almost as likely
    assert typed([BOX, FAR], [0.95, 0.9], ["cat", "cat"]).hard_type == "none"


def test_the_type_is_active_learnings_on_the_same_scores():
    """The pre-labeling rule is ml.hard's typing: same type and hardness on random images."""
    rng = np.random.default_rng(7)
    stats = DetectionHardnessStats(
        show_threshold=SHOW_THRESHOLD, hint_threshold=HINT_THRESHOLD, hard_threshold=HARD_THRESHOLD
    )
    seen = set()
    for _ in range(300):
        m = int(rng.integers(0, 6))
        corners = rng.uniform(0, 80, size=(m, 2))
        boxes = np.hstack([corners, corners + rng.uniform(5, 30, size=(m, 2))])
        scores = rng.uniform(0.1, 1.0, size=m)
        labels = rng.integers(0, 2, size=m)
        mine = detection_hardness(boxes, scores, labels.tolist())
        theirs = active_learning_typing(Candidates(boxes, scores, labels), None, stats)
        # Hard from the weakest item alone (uncalibrated scores); typed as active learning.
        if len(theirs.shown.scores):
            weakest = max(
                1 - float(theirs.box_confidence.min()),
                float(max(theirs.hints.scores, default=0.0)),
            )
        else:
            weakest = theirs.coefficient
        expected = theirs.hard_type.value if weakest >= HARD_THRESHOLD else "none"
        assert mine.hard_type == expected
        assert mine.coefficient == pytest.approx(theirs.coefficient)
        assert int(mine.shown.sum()) == len(theirs.shown.scores)
        assert sorted(scores[mine.hints]) == pytest.approx(sorted(theirs.hints.scores))
        seen.add(mine.hard_type)
    assert seen == {"none", "false_detection", "missed_detection"}

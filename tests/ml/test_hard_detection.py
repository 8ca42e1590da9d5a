"""ml.hard.detection: hard-example typing of detection results on constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.ml.hard import (
    Candidates,
    DetectionHardnessStats,
    DetectionHardType,
    DetectionReason,
    detection_hardness,
)

STATS = DetectionHardnessStats(show_threshold=0.5, hint_threshold=0.2, hard_threshold=0.4,
                               unstable_precision=0.2, duplicate_precision=0.1,
                               ambiguous_precision=0.3, flip_only_precision=0.7)
CAT = [10, 10, 50, 50]
DOG = [100, 100, 160, 150]


def candidates(*rows: tuple[list[float], float, int]) -> Candidates:
    if not rows:
        return Candidates.empty()
    return Candidates(np.array([r[0] for r in rows], dtype=float),
                      np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))


def codes(result) -> set[int]:
    return {code for code, _ in result.reasons}


def test_clean_confident_detections_are_none():
    seen = candidates((CAT, 0.97, 0), (DOG, 0.95, 1))
    result = detection_hardness(seen, seen, STATS)
    assert result.hard_type is DetectionHardType.NONE
    assert len(result.shown.scores) == 2 and len(result.hints.scores) == 0
    assert result.coefficient < STATS.hard_threshold
    assert 0.0 <= result.coefficient <= 1.0


def test_box_vanishing_under_flip_is_a_false_detection():
    original = candidates((CAT, 0.97, 0), (DOG, 0.9, 1))
    mirrored = candidates((CAT, 0.96, 0))
    result = detection_hardness(original, mirrored, STATS)
    assert result.hard_type is DetectionHardType.FALSE_DETECTION
    assert result.doubtful.tolist() == [1]  # the dog box is the one in doubt
    assert DetectionReason.UNSTABLE_UNDER_AUGMENTATION in codes(result)


def test_candidate_just_under_threshold_is_a_missed_detection_hint():
    original = candidates((CAT, 0.97, 0), (DOG, 0.45, 1))
    result = detection_hardness(original, original, STATS)
    assert result.hard_type is DetectionHardType.MISSED_DETECTION
    assert len(result.shown.scores) == 1  # the weak dog is a hint, never a box
    assert result.hints.boxes.tolist() == [DOG]
    assert DetectionReason.CANDIDATE_BELOW_THRESHOLD in codes(result)


def test_box_found_only_in_the_mirrored_image_is_a_hint():
    original = candidates((CAT, 0.97, 0))
    mirrored = candidates((CAT, 0.97, 0), (DOG, 0.9, 1))
    result = detection_hardness(original, mirrored, STATS)
    assert result.hard_type is DetectionHardType.MISSED_DETECTION
    assert DetectionReason.FOUND_ONLY_UNDER_AUGMENTATION in codes(result)
    assert result.hints.scores.tolist() == [pytest.approx(0.7)]  # capped by measured precision


def test_duplicate_boxes_flag_the_weaker_one():
    twin = [12, 10, 50, 52]
    seen = candidates((CAT, 0.97, 0), (twin, 0.9, 1))
    result = detection_hardness(seen, seen, STATS)
    assert result.hard_type is DetectionHardType.FALSE_DETECTION
    assert 1 in result.doubtful.tolist()
    assert DetectionReason.DUPLICATE_BOX in codes(result)
    # Two labels on one object: the class of the stronger box is in doubt too.
    assert DetectionReason.CLASS_AMBIGUOUS in codes(result)


def test_low_confidence_box_is_a_false_detection():
    seen = candidates((CAT, 0.55, 0))
    result = detection_hardness(seen, seen, STATS)
    assert result.hard_type is DetectionHardType.FALSE_DETECTION
    assert DetectionReason.LOW_CONFIDENCE in codes(result)
    assert result.doubtful.tolist() == [0]
    assert result.coefficient == pytest.approx(0.45)


def test_nothing_found_is_a_missed_detection_with_reason_0():
    result = detection_hardness(Candidates.empty(), Candidates.empty(), STATS)
    assert result.hard_type is DetectionHardType.MISSED_DETECTION
    assert DetectionReason.NO_OBJECT in codes(result)
    assert result.coefficient == pytest.approx(1.0)


def test_nothing_found_is_fine_where_empty_images_are_common():
    stats = DetectionHardnessStats(**{**STATS.__dict__, "empty_image_rate": 0.9})
    result = detection_hardness(Candidates.empty(), None, stats)
    assert result.hard_type is DetectionHardType.NONE


def test_resolution_shift_is_reported():
    stats = DetectionHardnessStats(**{**STATS.__dict__, "typical_long_side": 500.0})
    seen = candidates((CAT, 0.97, 0))
    result = detection_hardness(seen, seen, stats, image_long_side=4000)
    assert DetectionReason.RESOLUTION_SHIFT in codes(result)


def test_mismatched_candidate_arrays_are_rejected():
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        Candidates(np.zeros((2, 4)), np.zeros(1), np.zeros(2))


def test_objects_no_candidate_found_raise_hardness_but_a_doubtful_box_sets_the_type():
    from dataclasses import replace

    # Half an object unseen per shown box (measured on held-out images): very likely some
    # object is missing, but nothing points at it; the 0.6 box is what a person can check.
    crowded = replace(STATS, unseen_miss_rate=0.5)
    seen = candidates((CAT, 0.97, 0), (DOG, 0.6, 1))
    result = detection_hardness(seen, seen, crowded)
    assert result.p_missed > result.p_false  # the unseen risk is the larger one...
    assert result.hard_type is DetectionHardType.FALSE_DETECTION  # ...but points nowhere
    assert result.doubtful.tolist() == [1]
    assert result.coefficient >= detection_hardness(seen, seen, STATS).coefficient


def test_a_hint_outweighing_the_box_doubt_makes_it_a_missed_detection():
    from dataclasses import replace

    crowded = replace(STATS, unseen_miss_rate=0.5)
    seen = candidates((CAT, 0.9, 0), (DOG, 0.45, 1))  # the dog is a hint, not a box
    result = detection_hardness(seen, seen, crowded)
    assert result.hard_type is DetectionHardType.MISSED_DETECTION
    assert result.hints.boxes.tolist() == [DOG]


def test_certain_boxes_in_a_crowded_dataset_are_typed_missed():
    from dataclasses import replace

    seen = candidates((CAT, 1.0, 0))
    result = detection_hardness(seen, seen, replace(STATS, unseen_miss_rate=2.0))
    assert result.p_false == 0.0
    assert result.hard_type is DetectionHardType.MISSED_DETECTION
    assert DetectionReason.CROWDED in codes(result)

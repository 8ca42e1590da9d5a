"""Reason codes of detection hard examples: ModelArts' SDK codes 0-5 where one fits, 10+ ours."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class DetectionHardType(StrEnum):
    NONE = "none"
    FALSE_DETECTION = "false_detection"  # a shown box is probably wrong
    MISSED_DETECTION = "missed_detection"  # an object probably has no box


class DetectionReason(IntEnum):
    NO_OBJECT = 0
    """Nothing was shown although labeled images of this dataset hold objects."""
    LOW_CONFIDENCE = 1
    """A shown box has a low calibrated score."""
    UNSTABLE_UNDER_AUGMENTATION = 4
    """A shown box disappears when the image is mirrored."""
    RESOLUTION_SHIFT = 5
    """The image's size is far from the training images' sizes."""
    DUPLICATE_BOX = 10
    """Two shown boxes cover the same object."""
    CANDIDATE_BELOW_THRESHOLD = 11
    """A candidate just under the show threshold probably is an object without a box."""
    FOUND_ONLY_UNDER_AUGMENTATION = 12
    """A box found in the mirrored image has no counterpart in the original."""
    CLASS_AMBIGUOUS = 13
    """Another label scores almost as high for a shown box: its class may be wrong."""
    CROWDED = 14
    """Many objects: held-out images this crowded often had an object no candidate found."""


REASON_TEXT: dict[DetectionReason, str] = {
    DetectionReason.NO_OBJECT: "no object found",
    DetectionReason.LOW_CONFIDENCE: "a box has low confidence",
    DetectionReason.UNSTABLE_UNDER_AUGMENTATION: "a box disappears when the image is mirrored",
    DetectionReason.RESOLUTION_SHIFT: "image size differs from the training images",
    DetectionReason.DUPLICATE_BOX: "two boxes cover the same object",
    DetectionReason.CANDIDATE_BELOW_THRESHOLD: "a likely object has no box (score just under "
    "the show threshold)",
    DetectionReason.FOUND_ONLY_UNDER_AUGMENTATION: "an object is found only in the mirrored "
    "image",
    DetectionReason.CLASS_AMBIGUOUS: "another label scores almost as high for a box",
    DetectionReason.CROWDED: "many objects: some are likely missed",
}


def detection_reason(code: DetectionReason) -> tuple[int, str]:
    """The ``(code, text)`` pair stored with a prediction."""
    return int(code), REASON_TEXT[code]

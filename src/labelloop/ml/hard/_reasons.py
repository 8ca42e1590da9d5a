"""Hard-example reason codes, numbered as in ModelArts' SDK where a code exists there."""

from __future__ import annotations

from enum import IntEnum


class HardReason(IntEnum):
    """Why an image was flagged hard (ModelArts SDK codes 0-5)."""

    NO_OBJECT = 0
    """Detection: nothing was found in the image."""
    LOW_CONFIDENCE = 1
    """The model's (calibrated) confidence is low or the two best classes are close."""
    NEIGHBOURS_DISAGREE = 2
    """The image's nearest labeled images carry another label than the prediction."""
    FAR_FROM_CLASS = 3
    """The image is far from every labeled image of the predicted class."""
    UNSTABLE_UNDER_AUGMENTATION = 4
    """The prediction changes under test-time augmentation (e.g. a horizontal flip)."""
    RESOLUTION_SHIFT = 5
    """The image's resolution differs from the training images' (reserved)."""


#: Short human-readable text shown next to each code.
REASON_TEXT: dict[HardReason, str] = {
    HardReason.NO_OBJECT: "no object found",
    HardReason.LOW_CONFIDENCE: "low confidence or small margin between the two best labels",
    HardReason.NEIGHBOURS_DISAGREE: "its most similar labeled images carry another label",
    HardReason.FAR_FROM_CLASS: "far from the labeled images of the predicted label",
    HardReason.UNSTABLE_UNDER_AUGMENTATION: "prediction changes when the image is flipped",
    HardReason.RESOLUTION_SHIFT: "resolution differs from the training images",
}


def reason(code: HardReason) -> tuple[int, str]:
    """The ``(code, text)`` pair stored with a prediction."""
    return int(code), REASON_TEXT[code]

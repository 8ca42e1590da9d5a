"""Validation rules shared by every entry point (CLI, API, importers)."""

from __future__ import annotations

import math
import re

from .entities import Box, TaskType
from .errors import InvalidInput

MAX_LABEL_LENGTH = 64
MAX_DATASET_NAME_LENGTH = 100
# Angle brackets, quotes and control characters would be HTML or break exports; everything
# else (spaces, accents, CJK, punctuation such as "t-shirt" or "9/10") is a fair label.
_FORBIDDEN_LABEL_CHARS = re.compile(r"[<>\"'`&\x00-\x1f\x7f]")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

# Colour-blind-friendly palette (Okabe-Ito then Tableau); labels cycle through it.
PALETTE = (
    "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1",
    "#FF9DA7", "#9C755F",
)  # fmt: skip
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def validate_label_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidInput(f"label name must be text, got {type(name).__name__}")
    cleaned = name.strip()
    if not cleaned:
        raise InvalidInput("label name is empty")
    if len(cleaned) > MAX_LABEL_LENGTH:
        raise InvalidInput(
            f"label name is {len(cleaned)} characters long, the limit is {MAX_LABEL_LENGTH}: "
            f"{cleaned[:20]!r}..."
        )
    if _FORBIDDEN_LABEL_CHARS.search(cleaned):
        raise InvalidInput(
            f"label name {cleaned!r} holds a character not allowed in labels "
            "(< > \" ' ` & or a control character)"
        )
    return cleaned


def validate_dataset_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("dataset name is empty")
    cleaned = name.strip()
    if len(cleaned) > MAX_DATASET_NAME_LENGTH:
        raise InvalidInput(f"dataset name is longer than {MAX_DATASET_NAME_LENGTH} characters")
    if not _DATASET_NAME.match(cleaned):
        raise InvalidInput(
            f"dataset name {cleaned!r} may hold only letters, digits, '.', '_' and '-', "
            "and must start with a letter or digit"
        )
    if cleaned.isdigit():
        # The API and CLI take a dataset by name or by id: "7" would always read as id 7.
        raise InvalidInput(f"dataset name {cleaned!r} is only digits, which reads as an id")
    return cleaned


def validate_color(color: str) -> str:
    if not _COLOR.match(color):
        raise InvalidInput(f"colour {color!r} is not of the form #RRGGBB")
    return color.upper()


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def parse_task_type(value: object) -> TaskType:
    try:
        return TaskType(str(value).strip().lower())
    except ValueError:
        raise InvalidInput(
            f"task type {value!r} is not one of: {', '.join(t.value for t in TaskType)}"
        ) from None


def clip_box(box: Box, width: int, height: int) -> Box | None:
    """Clip a box to the image; None when nothing of it is left (outside or zero-sized)."""
    values = (box.x, box.y, box.w, box.h)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        return None
    x1, y1 = max(0.0, float(box.x)), max(0.0, float(box.y))
    x2, y2 = min(float(width), float(box.x + box.w)), min(float(height), float(box.y + box.h))
    if x2 - x1 < 1.0 or y2 - y1 < 1.0:
        return None
    return Box(box.label, x1, y1, x2 - x1, y2 - y1, box.score)


def check_box(box: Box, width: int, height: int) -> Box:
    """A box a person draws must be inside the image and at least one pixel wide and high."""
    values = (box.x, box.y, box.w, box.h)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        raise InvalidInput(f"box {values} has a value that is not a finite number")
    if box.w < 1 or box.h < 1:
        raise InvalidInput(f"box {values} has zero or negative width or height")
    tolerance = 0.5  # sub-pixel overshoot from a UI drag is rounding, not an error
    if (
        box.x < -tolerance
        or box.y < -tolerance
        or box.x + box.w > width + tolerance
        or box.y + box.h > height + tolerance
    ):
        raise InvalidInput(f"box {values} lies outside the {width}x{height} image")
    clipped = clip_box(box, width, height)
    if clipped is None:  # pragma: no cover - excluded by the checks above
        raise InvalidInput(f"box {values} is empty inside the image")
    return clipped

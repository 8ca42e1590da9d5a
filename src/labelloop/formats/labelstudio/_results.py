"""Label Studio ``result`` lists: ``choices`` give a class, ``rectanglelabels`` give boxes.

A rectangle's ``x, y, width, height`` are percents of the displayed image, so boxes are kept as
fractions (``ImportItem.normalized_boxes``): the import service turns them into pixels of the
probed image, which is exact even when ``original_width/height`` are missing or wrong. A rotated
rectangle (``rotation`` in degrees, around its top-left corner) becomes the axis-aligned box
around it when the image size is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labelloop.domain import Box, InvalidInput
from labelloop.domain.rules import validate_label_name

from .._json_input import FieldProblem, finite_number, positive_int, type_name

__all__ = ["CHOICES", "RECTANGLES", "ParsedResult", "parse_result"]

CHOICES = "choices"
RECTANGLES = "rectanglelabels"


@dataclass
class ParsedResult:
    label: str | None = None
    boxes: list[Box] = field(default_factory=list)  # fractions of the image
    kinds: set[str] = field(default_factory=set)  # result types met (choices, rectanglelabels)
    declared_size: tuple[int, int] | None = None
    error: str | None = None  # the image cannot be imported as annotated (a bad class name)
    warnings: list[str] = field(default_factory=list)
    dropped: int = 0  # rectangles that gave no box


def parse_result(result: list, where: str) -> ParsedResult:
    parsed = ParsedResult()
    ignored: set[str] = set()
    for index, entry in enumerate(result):
        at = f"{where}.result[{index}]"
        if not isinstance(entry, dict):
            parsed.warnings.append(f"{at} is {type_name(entry)}, not an object; ignored")
            continue
        kind = entry.get("type")
        value = entry.get("value")
        if kind not in (CHOICES, RECTANGLES):
            if str(kind) not in ignored:
                ignored.add(str(kind))
                parsed.warnings.append(f"{at}: result type {kind!r} is not supported; ignored")
            continue
        parsed.kinds.add(kind)
        if not isinstance(value, dict):
            parsed.warnings.append(f"{at}: value is {type_name(value)}, not an object; ignored")
            parsed.dropped += kind == RECTANGLES
            continue
        if kind == CHOICES:
            _choice(value, at, parsed)
        elif not _rectangle(entry, value, at, parsed):
            parsed.dropped += 1
    return parsed


def _choice(value: dict, at: str, parsed: ParsedResult) -> None:
    choices = value.get(CHOICES)
    if not isinstance(choices, list) or not choices:
        parsed.warnings.append(f"{at}: value.choices is {type_name(choices)}, not a list of names")
        return
    if parsed.label is not None:
        parsed.warnings.append(f"{at}: a second choice; the image keeps {parsed.label!r}")
        return
    try:
        parsed.label = validate_label_name(choices[0])
    except InvalidInput as exc:
        parsed.error = f"{at}: {exc}"
        return
    if len(choices) > 1:
        parsed.warnings.append(
            f"{at}: {len(choices)} choices; an image has one label, {parsed.label!r} is kept"
        )


def _rectangle(entry: dict, value: dict, at: str, parsed: ParsedResult) -> bool:
    """Add the rectangle's box to ``parsed``; False (after a warning) when it is dropped."""
    names = value.get(RECTANGLES)
    if not isinstance(names, list) or not names:
        parsed.warnings.append(f"{at}: value.rectanglelabels is {type_name(names)}; box dropped")
        return False
    size = _size(entry, at, parsed)
    try:
        label = validate_label_name(names[0])
        x, y, w, h = (
            finite_number(value.get(key), f"{at}: value.{key}")
            for key in ("x", "y", "width", "height")
        )
        rotation = finite_number(value.get("rotation", 0) or 0, f"{at}: value.rotation")
    except (InvalidInput, FieldProblem) as exc:
        parsed.warnings.append(f"{at}: {exc}; box dropped")
        return False
    if w <= 0 or h <= 0:
        parsed.warnings.append(f"{at}: width {w:g}% or height {h:g}% is not above 0; box dropped")
        return False
    box = Box(label, x / 100, y / 100, w / 100, h / 100)
    if rotation % 360:
        if size is None:
            parsed.warnings.append(
                f"{at}: rotated {rotation:g} degrees but original_width/original_height are "
                "missing; the rotation is ignored"
            )
        else:
            box = _bounding_box(box, rotation, size)
    parsed.boxes.append(box)
    return True


def _size(entry: dict, at: str, parsed: ParsedResult) -> tuple[int, int] | None:
    if "original_width" not in entry and "original_height" not in entry:
        return None
    try:
        size = (
            positive_int(entry.get("original_width"), f"{at}: original_width"),
            positive_int(entry.get("original_height"), f"{at}: original_height"),
        )
    except FieldProblem as exc:
        parsed.warnings.append(f"{exc}; ignored")
        return None
    parsed.declared_size = parsed.declared_size or size
    return size


def _bounding_box(box: Box, degrees: float, size: tuple[int, int]) -> Box:
    """The axis-aligned box around ``box`` turned ``degrees`` clockwise about its top-left."""
    width, height = size
    x0, y0, w, h = box.x * width, box.y * height, box.w * width, box.h * height
    cos, sin = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    corners = [
        (x0 + dx * cos - dy * sin, y0 + dx * sin + dy * cos)
        for dx, dy in ((0, 0), (w, 0), (0, h), (w, h))
    ]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return Box(
        box.label,
        min(xs) / width,
        min(ys) / height,
        (max(xs) - min(xs)) / width,
        (max(ys) - min(ys)) / height,
    )

"""One YOLO label file: lines ``class cx cy w h`` in fractions of the image size.

A line with an odd number of values past the class and at least three points is a YOLO
segmentation polygon (``class x1 y1 x2 y2 ...``); its bounding box is kept, as ultralytics does
when it trains a detector on segment labels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labelloop.domain import Box

from ._classes import ClassNames

__all__ = ["ParsedLabels", "parse_label_text"]

# A box's corners may lie outside 0..1: tools that do not clip (augmentation, a drag past the
# border, a box around an object cut by the frame) write such boxes, and the import service
# clips them to the image as it does VOC and COCO boxes. How far out is still a fraction:
# a box no larger than the image whose centre lies inside it has its corners in -0.5..1.5, so
# that range is what a real, overshooting YOLO box can reach. Past it the values are not
# fractions of the image: pixels, most likely (any real pixel box has values of 2 and more),
# and the box is dropped rather than guessed at.
MIN_CORNER = -0.5
MAX_CORNER = 1.5
_BOX_VALUES = 5
_MIN_POLYGON_VALUES = 7  # class + three points


@dataclass
class ParsedLabels:
    boxes: list[Box] = field(default_factory=list)  # normalised: 0..1 of width and height
    problems: list[str] = field(default_factory=list)  # "line N: ...", one per dropped box

    @property
    def dropped(self) -> int:
        return len(self.problems)


def parse_label_text(text: str, classes: ClassNames) -> ParsedLabels:
    parsed = ParsedLabels()
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            parsed.boxes.append(_parse_line(tokens, classes))
        except ValueError as exc:
            parsed.problems.append(f"line {number}: {exc}; box dropped")
    return parsed


def _parse_line(tokens: list[str], classes: ClassNames) -> Box:
    count = len(tokens)
    is_polygon = count >= _MIN_POLYGON_VALUES and count % 2 == 1
    if count != _BOX_VALUES and not is_polygon:
        raise ValueError(f"expected 'class cx cy w h' (5 values), found {count}")
    label = _label(tokens[0], classes)
    values = [_fraction(token) for token in tokens[1:]]
    if is_polygon:
        xs, ys = values[0::2], values[1::2]
        x, y, w, h = min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)
    else:
        cx, cy, w, h = values
        x, y = cx - w / 2, cy - h / 2
    if w <= 0 or h <= 0:
        raise ValueError("zero or negative width or height")
    corners = (x, y, x + w, y + h)
    if max(values) > MAX_CORNER:
        raise ValueError(
            f"values up to {max(values):g}; YOLO values are fractions of the image size "
            "(0..1), not pixels"
        )
    if min(corners) < MIN_CORNER or max(corners) > MAX_CORNER:
        shown = ", ".join(f"{value:g}" for value in corners)
        raise ValueError(
            f"corners ({shown}) lie far outside the image (0..1); the box cannot be placed"
        )
    return Box(label, x, y, w, h)  # overshoots, if any, are clipped by the import service


def _label(token: str, classes: ClassNames) -> str:
    try:
        number = float(token)
    except ValueError:
        raise ValueError(f"class {token!r} is not a number") from None
    if not number.is_integer() or number < 0:
        raise ValueError(f"class {token!r} is not a class index")
    index = int(number)
    if classes.source is None:  # no class-names file: the index is the name
        return str(index)
    if index not in classes.names:
        known = f"classes 0..{max(classes.names)}" if classes.names else "no valid class"
        raise ValueError(f"class {index} is not in {classes.source} ({known})")
    return classes.names[index]


def _fraction(token: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{token!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{token!r} is not a finite number")
    return value

"""Input checks at the public boundary, and the choice of input resolution from the boxes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# Tolerance for boxes that touch the image edge through float rounding of an importer.
_EDGE_TOLERANCE_PX = 1.0
INPUT_SIZES = (320, 384, 448, 512, 576, 640)
# Smallest objects should span at least this many input pixels (3 cells of the stride-8 map):
# bccd's platelets (~39 px of 640) then keep 512 px, playing cards (a third of the photo) 320.
MIN_OBJECT_PX = 24.0
_SMALL_OBJECT_QUANTILE = 10  # percent: the size the small end of each class has


def check_training_input(
    images: Sequence[object],
    boxes: Sequence[Sequence[Sequence[float]]],
    n_classes: int,
    image_sizes: Sequence[tuple[int, int]],
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(xyxy boxes, labels) per image; ValueError naming the image and box on bad input."""
    if isinstance(n_classes, bool) or not isinstance(n_classes, int) or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer, got {n_classes!r}")
    if len(images) != len(boxes):
        raise ValueError(f"{len(images)} images but {len(boxes)} box lists")
    if not images:
        raise ValueError("no labeled images to train on")
    checked = []
    for path, image_boxes, (width, height) in zip(images, boxes, image_sizes, strict=True):
        xyxy, labels = [], []
        for number, box in enumerate(image_boxes):
            where = f"box {number} of {path}"
            if len(box) != 5:
                raise ValueError(f"{where}: expected (label_index, x, y, w, h), got {box!r}")
            label, x, y, w, h = box
            if isinstance(label, bool) or not float(label).is_integer():
                raise ValueError(f"{where}: label index must be an integer, got {label!r}")
            if not 0 <= int(label) < n_classes:
                raise ValueError(f"{where}: unknown class index {int(label)} "
                                 f"(n_classes={n_classes})")
            values = [float(v) for v in (x, y, w, h)]
            if not all(math.isfinite(v) for v in values):
                raise ValueError(f"{where}: coordinates must be finite, got {values}")
            if values[2] <= 0 or values[3] <= 0:
                raise ValueError(f"{where}: zero size (w={values[2]}, h={values[3]})")
            x0, y0, x1, y1 = values[0], values[1], values[0] + values[2], values[1] + values[3]
            if (x0 < -_EDGE_TOLERANCE_PX or y0 < -_EDGE_TOLERANCE_PX
                    or x1 > width + _EDGE_TOLERANCE_PX or y1 > height + _EDGE_TOLERANCE_PX):
                raise ValueError(f"{where}: box ({x0}, {y0})-({x1}, {y1}) lies outside the "
                                 f"{width}x{height} image")
            xyxy.append([max(x0, 0.0), max(y0, 0.0), min(x1, width), min(y1, height)])
            labels.append(int(label))
        checked.append((np.asarray(xyxy, dtype=np.float64).reshape(-1, 4),
                        np.asarray(labels, dtype=np.int64)))
    present = {int(label) for _, labels in checked for label in labels}
    if not present:
        raise ValueError("the labeled images hold no boxes")
    return checked


def choose_input_size(
    image_sizes: Sequence[tuple[int, int]], labeled: Sequence[tuple[np.ndarray, np.ndarray]]
) -> int:
    """Smallest of ``INPUT_SIZES`` at which the small end of every class spans
    ``MIN_OBJECT_PX``: larger inputs cost quadratically more time and help only small objects."""
    relative: dict[int, list[float]] = {}
    for (width, height), (boxes, labels) in zip(image_sizes, labeled, strict=True):
        short_sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        for side, label in zip(short_sides, labels, strict=True):
            relative.setdefault(int(label), []).append(float(side) / max(width, height))
    smallest = min(float(np.percentile(v, _SMALL_OBJECT_QUANTILE)) for v in relative.values())
    needed = MIN_OBJECT_PX / max(smallest, 1e-6)
    for size in INPUT_SIZES:
        if size >= needed:
            return size
    return INPUT_SIZES[-1]

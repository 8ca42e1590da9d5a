"""Real VOC datasets of ../shared/data for the voc, yolo and manifest tests.

``stored_items`` plays the import service on a VOC reading (probe each image, clip each box to
it, keep the rest) so that round trips through other formats start from what the database
would hold.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from PIL import Image

from helpers.images import sha256_file
from labelloop.domain import Box
from labelloop.domain.rules import clip_box
from labelloop.formats import get_format
from labelloop.formats.base import ExportItem, ImportContext, ImportItem

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

__all__ = ["boxes_match", "read_with", "real_dataset", "sorted_boxes", "stored_items"]


def real_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name!r} not found at {path} (../shared/data is absent)")
    return path


def read_with(format_name: str, root: Path) -> tuple[list[ImportItem], ImportContext]:
    ctx = ImportContext(root=root)
    return list(get_format(format_name).read(root, ctx)), ctx


def stored_items(items: list[ImportItem]) -> list[ExportItem]:
    """What the database would hold after importing ``items`` (sizes read with Pillow)."""
    stored = []
    for item in items:
        with Image.open(item.path) as image:
            width, height = image.size
        boxes = item.pixel_boxes(width, height)
        if boxes is not None:
            boxes = [clipped for box in boxes if (clipped := clip_box(box, width, height))]
        stored.append(
            ExportItem(
                file=item.path,
                original_path=item.relative_path,
                width=width,
                height=height,
                state="labeled" if boxes is not None else "unlabeled",
                sha256=sha256_file(item.path),
                boxes=tuple(boxes) if boxes is not None else None,
            )
        )
    return stored


def sorted_boxes(boxes: list[Box] | tuple[Box, ...]) -> list[Box]:
    # Rounded keys: a sub-pixel difference from a round trip must not reorder two boxes.
    return sorted(boxes, key=lambda b: (b.label, round(b.x), round(b.y), round(b.w), round(b.h)))


def boxes_match(
    expected: tuple[Box, ...] | list[Box], got: list[Box], *, tolerance: float = 0.5
) -> bool:
    """Same labels and every coordinate within ``tolerance`` pixels (order ignored)."""
    if len(expected) != len(got):
        return False
    return all(
        a.label == b.label
        and all(
            math.isclose(p, q, abs_tol=tolerance)
            for p, q in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h))
        )
        for a, b in zip(sorted_boxes(expected), sorted_boxes(got), strict=True)
    )

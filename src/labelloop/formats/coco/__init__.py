"""COCO detection JSON: ``annotations.json`` + ``images/`` (other layouts: see ``_importer``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from labelloop.domain import TaskType

from .._json_input import JsonProblem, read_json, sniff_json_head
from ..base import (
    CONFIDENCE_CERTAIN,
    CONFIDENCE_LIKELY,
    CONFIDENCE_NONE,
    DatasetInfo,
    ExportItem,
    ExportReport,
    Format,
    ImportContext,
    ImportItem,
    walk_files,
)
from ._exporter import write_coco
from ._importer import looks_like_annotation_name, read_coco
from ._schema import is_coco_object

__all__ = ["FORMAT", "CocoFormat"]

# detect() parses JSON files up to this size; bigger ones are judged by their first bytes.
_PARSE_IN_DETECT_BYTES = 32 * 1024 * 1024
_FILES_TO_WALK = 5000
_JSON_FILES_TO_SNIFF = 5
_MAX_DEPTH = 3  # root/a.json, root/annotations/a.json, root/train/x/a.json


class CocoFormat(Format):
    name = "coco"
    task_types = (TaskType.DETECTION,)
    description = "COCO detection JSON: annotations.json (images, annotations, categories)"

    def detect(self, root: Path) -> float:
        best = CONFIDENCE_NONE
        for path in _candidate_json_files(root):
            best = max(best, _score(path))
            if best == CONFIDENCE_CERTAIN:
                break
        return best

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_coco(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_coco(out, dataset, items)


def _candidate_json_files(root: Path) -> list[Path]:
    found = [
        path
        for path in islice(walk_files(root), _FILES_TO_WALK)
        if path.suffix.lower() == ".json" and len(path.relative_to(root).parts) <= _MAX_DEPTH
    ]
    # Files named like annotations first: a folder may hold other JSON (configs, metadata).
    found.sort(key=lambda p: (not looks_like_annotation_name(p), len(p.parts), p))
    return found[:_JSON_FILES_TO_SNIFF]


def _score(path: Path) -> float:
    try:
        size = path.stat().st_size
    except OSError:
        return CONFIDENCE_NONE
    if size > _PARSE_IN_DETECT_BYTES:
        head = sniff_json_head(path)
        if head.startswith("{") and '"images"' in head:
            return CONFIDENCE_LIKELY
        return CONFIDENCE_NONE
    try:
        data = read_json(path)
    except JsonProblem:
        return CONFIDENCE_NONE
    if not is_coco_object(data):
        return CONFIDENCE_NONE
    has_all = all(isinstance(data.get(key), list) for key in ("annotations", "categories"))
    return CONFIDENCE_CERTAIN if has_all else CONFIDENCE_LIKELY


FORMAT = CocoFormat()

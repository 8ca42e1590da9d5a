"""Label Studio JSON export (classification or detection): ``result.json`` + ``images/``."""

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
    CONFIDENCE_WEAK,
    DatasetInfo,
    ExportItem,
    ExportReport,
    Format,
    ImportContext,
    ImportItem,
    walk_files,
)
from ._exporter import TASKS_FILE, write_labelstudio
from ._importer import CONFIG_FILE, is_task_list, read_labelstudio

__all__ = ["FORMAT", "LabelStudioFormat"]

# detect() parses JSON files up to this size; bigger ones are judged by their first bytes.
_PARSE_IN_DETECT_BYTES = 32 * 1024 * 1024
_FILES_TO_WALK = 5000
_JSON_FILES_TO_SNIFF = 5
_MAX_DEPTH = 2  # root/result.json, root/export/project-1.json


class LabelStudioFormat(Format):
    name = "labelstudio"
    task_types = (TaskType.CLASSIFICATION, TaskType.DETECTION)
    description = "Label Studio JSON export: a list of tasks (data.image, annotations)"

    def detect(self, root: Path) -> float:
        best = CONFIDENCE_NONE
        for path in _candidate_json_files(root):
            best = max(best, _score(path, root))
            if best == CONFIDENCE_CERTAIN:
                break
        return best

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_labelstudio(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_labelstudio(out, dataset, items)


def _candidate_json_files(root: Path) -> list[Path]:
    found = [
        path
        for path in islice(walk_files(root), _FILES_TO_WALK)
        if path.suffix.lower() == ".json" and len(path.relative_to(root).parts) <= _MAX_DEPTH
    ]
    found.sort(key=lambda p: (p.name != TASKS_FILE, len(p.parts), p))
    return found[:_JSON_FILES_TO_SNIFF]


def _score(path: Path, root: Path) -> float:
    try:
        size = path.stat().st_size
    except OSError:
        return CONFIDENCE_NONE
    if size > _PARSE_IN_DETECT_BYTES:
        head = sniff_json_head(path)
        return CONFIDENCE_LIKELY if head.startswith("[") and '"data"' in head else CONFIDENCE_NONE
    try:
        data = read_json(path)
    except JsonProblem:
        return CONFIDENCE_NONE
    if data == []:  # an empty export: only the names say whose
        ours = path.name == TASKS_FILE and (root / CONFIG_FILE).is_file()
        return CONFIDENCE_WEAK if ours else CONFIDENCE_NONE
    if is_task_list(data):
        return CONFIDENCE_CERTAIN
    if isinstance(data, dict) and isinstance(data.get("data"), dict):
        return CONFIDENCE_LIKELY  # one task on its own
    return CONFIDENCE_NONE


FORMAT = LabelStudioFormat()

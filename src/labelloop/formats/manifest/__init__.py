"""ModelArts manifest: JSON lines, classification and detection (``_importer``, ``_exporter``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from labelloop.domain import TaskType

from ..base import (
    CONFIDENCE_CERTAIN,
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
from ._exporter import write_manifest
from ._fields import MANIFEST_SUFFIX, SOURCE
from ._importer import read_manifests

__all__ = ["FORMAT", "ManifestFormat"]

_FILES_TO_WALK = 2000
_LINES_TO_SNIFF = 5
_SNIFF_LINE_BYTES = 64 * 1024


class ManifestFormat(Format):
    name = "manifest"
    task_types = (TaskType.CLASSIFICATION, TaskType.DETECTION)
    description = "ModelArts manifest: *.manifest JSON lines (source, annotation) + images"

    def detect(self, root: Path) -> float:
        manifests = _manifest_files(root)
        if any(_first_record_has_source(path) for path in manifests[:3]):
            return CONFIDENCE_CERTAIN
        return CONFIDENCE_WEAK if manifests else CONFIDENCE_NONE

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_manifests(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_manifest(out, dataset, items)


def _manifest_files(root: Path) -> list[Path]:
    """Manifests at the root first (where they usually are, among thousands of images)."""
    at_root = sorted(
        path
        for path in root.glob(f"*{MANIFEST_SUFFIX}")
        if path.is_file() and not path.is_symlink()
    )
    if at_root:
        return at_root
    files = islice(walk_files(root), _FILES_TO_WALK)
    return [path for path in files if path.suffix.lower() == MANIFEST_SUFFIX]


def _first_record_has_source(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            for raw in islice(handle, _LINES_TO_SNIFF):
                line = raw[:_SNIFF_LINE_BYTES].decode("utf-8-sig", errors="replace").strip()
                if line:
                    return _is_sample(line)
    except OSError:
        return False
    return False


def _is_sample(line: str) -> bool:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(record, dict) and isinstance(record.get(SOURCE), str)


FORMAT = ManifestFormat()

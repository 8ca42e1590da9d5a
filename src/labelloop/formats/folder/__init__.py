"""A plain folder of images, unlabeled (either task type): the fallback every import can use."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from labelloop.domain import TaskType
from labelloop.imaging import looks_like_image

from ..base import (
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
from ._exporter import write_folder
from ._importer import read_folder

__all__ = ["FORMAT", "FolderFormat"]


class FolderFormat(Format):
    name = "folder"
    task_types = (TaskType.CLASSIFICATION, TaskType.DETECTION)
    description = "a folder of images (any depth), imported unlabeled; exported images only"

    def detect(self, root: Path) -> float:
        # Any folder with an image can be read this way, so this is only ever the fallback.
        has_image = any(looks_like_image(path) for path in walk_files(root))
        return CONFIDENCE_WEAK if has_image else CONFIDENCE_NONE

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_folder(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_folder(out, items)


FORMAT = FolderFormat()

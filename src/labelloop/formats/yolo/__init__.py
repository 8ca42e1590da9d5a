"""YOLO txt (detection): ``images/`` + ``labels/*.txt`` + class names (see ``_importer``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from labelloop.domain import TaskType

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
from ._classes import LABEL_DIRS, is_class_file
from ._exporter import write_yolo
from ._importer import IMAGE_DIR, read_yolo

__all__ = ["FORMAT", "YoloFormat"]

_FILES_TO_WALK = 2000
_TXT_FILES_TO_SNIFF = 3


class YoloFormat(Format):
    name = "yolo"
    task_types = (TaskType.DETECTION,)
    description = "YOLO txt: images/ + labels/*.txt (class cx cy w h) + classes.txt or data.yaml"

    def detect(self, root: Path) -> float:
        label_dirs = [d for d in _label_dir_candidates(root) if _holds_yolo_txt(d)]
        has_names = _has_class_file(root)
        if label_dirs:
            return CONFIDENCE_CERTAIN if has_names else CONFIDENCE_LIKELY
        # darknet: txt files beside the images, names in obj.names
        if has_names and _holds_yolo_txt(root):
            return CONFIDENCE_LIKELY
        return CONFIDENCE_WEAK if has_names else CONFIDENCE_NONE

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_yolo(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_yolo(out, dataset, items)


def _label_dir_candidates(root: Path) -> list[Path]:
    """``labels/`` beside ``images/``, at the root or one level down (``train/labels``)."""
    parents = [root, *sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())]
    return [
        parent / name
        for parent in parents
        if (parent / IMAGE_DIR).is_dir()
        for name in LABEL_DIRS
        if (parent / name).is_dir()
    ]


def _has_class_file(root: Path) -> bool:
    folders = [root] + [root / name for name in LABEL_DIRS]
    return any(
        is_class_file(path)
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file()
    )


def _holds_yolo_txt(folder: Path) -> bool:
    files = islice(walk_files(folder), _FILES_TO_WALK)
    txt_files = (p for p in files if p.suffix.lower() == ".txt" and not is_class_file(p))
    return any(_looks_like_yolo(path) for path in islice(txt_files, _TXT_FILES_TO_SNIFF))


def _looks_like_yolo(path: Path) -> bool:
    """The first line is ``int float float float float`` (an empty file is a YOLO file too)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline(4096).split()
    except OSError:
        return False
    if not first:
        return path.stat().st_size == 0
    return len(first) >= 5 and first[0].isdigit() and all(map(_is_number, first[1:]))


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


FORMAT = YoloFormat()

"""ImageNet-style class folders (classification): ``<root>/<class>/<image>``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from labelloop.domain import TaskType
from labelloop.imaging import looks_like_image

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
from ._exporter import write_imagenet
from ._importer import read_imagenet
from ._layout import LABELS_FILE, PREDICTIONS_FILE, UNLABELED_DIR, class_roots

__all__ = ["FORMAT", "ImagenetFormat"]

# detect() looks at this many files at most: enough to see annotation files, cheap on big trees.
_FILES_TO_WALK = 5000
_FILES_PER_CLASS_TO_WALK = 200
# Files that mean another format describes the folder (COCO, Label Studio, VOC, manifest, YOLO).
_ANNOTATION_SUFFIXES = (".json", ".jsonl", ".xml", ".manifest", ".yaml", ".yml")
_ANNOTATION_FOLDERS = frozenset({"annotations", "labels", "label", "labels_txt"})


class ImagenetFormat(Format):
    name = "imagenet"
    task_types = (TaskType.CLASSIFICATION,)
    description = "class folders: <root>/<class>/<image> (also <root>/<split>/<class>/<image>)"

    def detect(self, root: Path) -> float:
        if _has_annotation_files(root):
            return CONFIDENCE_NONE
        roots = class_roots(root)
        classes = [
            folder
            for class_root in roots
            for folder in _subfolders(class_root)
            if folder.name != UNLABELED_DIR and _holds_images(folder)
        ]
        if (root / LABELS_FILE).is_file() and (classes or _holds_images(root / UNLABELED_DIR)):
            return CONFIDENCE_CERTAIN  # labelloop's own export
        # One folder of images is a plain folder far more often than a one-class dataset.
        return CONFIDENCE_LIKELY if len(classes) >= 2 else CONFIDENCE_NONE

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_imagenet(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_imagenet(out, dataset, items)


def _has_annotation_files(root: Path) -> bool:
    """Whether another format describes the folder: a json/xml/yaml/manifest file at the root
    (COCO, Label Studio, manifest, data.yaml), or annotation files named like the images (VOC
    XML, YOLO txt) or kept in an annotations/labels folder. A stray ``notes.txt`` or
    ``meta.json`` inside a class folder is not one: it used to turn a whole tree of class
    folders into an unlabeled plain folder."""
    image_stems: set[str] = set()
    inside: list[Path] = []
    for path in islice(walk_files(root), _FILES_TO_WALK):
        suffix = path.suffix.lower()
        if path.parent == root:
            if suffix in _ANNOTATION_SUFFIXES and path.name != PREDICTIONS_FILE:
                return True
            continue  # txt at the root: notes, splits or class lists
        if suffix in _ANNOTATION_SUFFIXES or suffix == ".txt":
            if path.parent.name.lower() in _ANNOTATION_FOLDERS:
                return True
            inside.append(path)
        elif looks_like_image(path):
            image_stems.add(path.stem)
    return any(path.stem in image_stems for path in inside)


def _subfolders(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [e for e in entries if not e.name.startswith(".") and e.is_dir() and not e.is_symlink()]


def _holds_images(folder: Path) -> bool:
    if not folder.is_dir() or folder.is_symlink():
        return False
    return any(looks_like_image(p) for p in islice(walk_files(folder), _FILES_PER_CLASS_TO_WALK))


FORMAT = ImagenetFormat()

"""The contract every format folder implements (datumaro style).

An importer turns a folder on disk into ``ImportItem`` objects and reports per-item problems to
an ``ImportContext`` instead of raising, so that one bad file never stops an import. It does not
open images to check them or touch the database: the import service probes every image (format,
EXIF-rotated size), clips boxes to the real image size, deduplicates and stores.

An exporter writes ``ExportItem`` objects (what the database holds for each image: the stored
file, its original name, the annotation and the model's prediction) into a folder.

Coordinates are always pixels of the displayed image (after EXIF orientation); ``x, y`` is the
top-left corner.
"""

from __future__ import annotations

import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from labelloop.domain import Box, HardReason, HardType, TaskType

# How sure detect() is: 1.0 = the layout is unmistakably this format.
CONFIDENCE_CERTAIN = 1.0
CONFIDENCE_LIKELY = 0.6
CONFIDENCE_WEAK = 0.2
CONFIDENCE_NONE = 0.0

# XML and JSON annotation files larger than this are refused (hostile or broken input).
MAX_ANNOTATION_FILE_BYTES = 512 * 1024 * 1024


@dataclass
class ImportItem:
    """One image found by an importer, with what the file says about it.

    ``label`` (classification) and ``boxes`` (detection) are None when the source holds no
    annotation for the image, i.e. it is unlabeled. ``boxes == []`` means labeled, no objects.
    """

    path: Path  # the image file on disk
    relative_path: str  # path relative to the import root, posix separators: kept as original name
    label: str | None = None
    boxes: list[Box] | None = None
    declared_size: tuple[int, int] | None = None  # (width, height) the annotation file claims
    source: str | None = None  # the annotation file this came from, for error messages
    # Boxes in fractions (0..1) of the displayed image's width and height, for formats such as
    # YOLO whose coordinates need the real image size the importer does not read. When not
    # None the image is labeled and these replace ``boxes``: see ``pixel_boxes``.
    normalized_boxes: list[Box] | None = None
    # Annotation entries the source gave this image that the importer already dropped (each
    # reported to the context): a box line or object it could not read, an unknown class. The
    # import service adds the boxes it drops itself; an image whose annotations were ALL
    # dropped is imported unlabeled, not as "labeled, no objects" (a false negative).
    dropped_annotations: int = 0

    def pixel_boxes(self, width: int, height: int) -> list[Box] | None:
        """The boxes in pixels of a ``width`` x ``height`` image (the probed, displayed size).

        None when the item carries no detection annotation (unlabeled or classification).
        """
        if self.normalized_boxes is None:
            return self.boxes
        return [
            Box(b.label, b.x * width, b.y * height, b.w * width, b.h * height, b.score)
            for b in self.normalized_boxes
        ]


@dataclass(frozen=True)
class ImportIssue:
    path: str
    problem: str


@dataclass
class ImportContext:
    """Collects per-item problems while an importer runs."""

    root: Path
    errors: list[ImportIssue] = field(default_factory=list)  # item skipped
    warnings: list[ImportIssue] = field(default_factory=list)  # item kept, something dropped
    # Labels the source declares even when no image uses them (COCO categories, classes.txt).
    declared_labels: list[str] = field(default_factory=list)
    # declared label -> the file (or folder) that declared it, relative to the root
    label_sources: dict[str, str] = field(default_factory=dict)

    def error(self, path: Path | str, problem: str) -> None:
        self.errors.append(ImportIssue(self.display(path), problem))

    def warn(self, path: Path | str, problem: str) -> None:
        self.warnings.append(ImportIssue(self.display(path), problem))

    def declare_label(self, name: str, source: Path | str | None = None) -> None:
        """Declare ``name``; ``source`` is the file that declares it, for messages."""
        if name not in self.declared_labels:
            self.declared_labels.append(name)
            if source is not None:
                self.label_sources[name] = self.display(source)

    def display(self, path: Path | str) -> str:
        path = Path(path)
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class ExportPrediction:
    label: str | None = None
    score: float | None = None
    boxes: tuple[Box, ...] = ()  # box.score carries each box's score
    hard: bool = False
    hard_type: HardType | None = None
    hard_coefficient: float = 0.0
    hard_reasons: tuple[HardReason, ...] = ()
    model_version: str | None = None
    job_id: int | None = None
    annotated_by: str = "labelloop/active-learning"
    created_at: str | None = None  # ISO time the model made the prediction


@dataclass(frozen=True)
class ExportItem:
    file: Path  # stored blob to copy
    original_path: str  # original relative path; exporters keep its file name
    width: int
    height: int
    state: str  # unlabeled | to_confirm | labeled
    sha256: str = ""
    label: str | None = None  # the confirmed annotation (classification)
    boxes: tuple[Box, ...] | None = None  # the confirmed annotation (detection); None = none
    prediction: ExportPrediction | None = None
    annotated_at: str | None = None  # ISO time of the annotation

    @property
    def file_name(self) -> str:
        return PurePosixPath(self.original_path.replace("\\", "/")).name

    @property
    def labeled(self) -> bool:
        return self.state == "labeled"


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    task_type: TaskType
    labels: tuple[str, ...]  # in the dataset's order


@dataclass
class ExportReport:
    images: int = 0
    files: list[str] = field(default_factory=list)  # annotation files written, relative to out
    # (original path, why) of images left out: their stored file is missing from the data dir
    missing: list[tuple[str, str]] = field(default_factory=list)


class Format(ABC):
    """One format: a folder under ``formats/`` exposes an instance as ``FORMAT``."""

    name: str
    task_types: tuple[TaskType, ...]
    description: str = ""

    @abstractmethod
    def detect(self, root: Path) -> float:
        """How sure we are that ``root`` holds this format (CONFIDENCE_* constants)."""

    @abstractmethod
    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        """Yield the images under ``root``; report problems to ``ctx``; never raise for one item."""

    @abstractmethod
    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        """Write ``items`` under ``out`` (created if missing)."""


class UniqueNames:
    """Keeps exported file names unique inside one folder while keeping the original name."""

    def __init__(self) -> None:
        self._taken: dict[str, set[str]] = {}

    def claim(self, folder: str, name: str, sha256: str = "") -> str:
        taken = self._taken.setdefault(folder, set())
        candidate = name
        if candidate.lower() in taken:
            stem, dot, suffix = name.rpartition(".")
            if not dot:
                stem, suffix = name, ""
            tag = sha256[:8] or str(len(taken))
            candidate = f"{stem}-{tag}{'.' + suffix if suffix else ''}"
            n = 2
            while candidate.lower() in taken:
                candidate = f"{stem}-{tag}-{n}{'.' + suffix if suffix else ''}"
                n += 1
        taken.add(candidate.lower())
        return candidate


def copy_image(src: Path, dest: Path) -> None:
    """Copy a stored image to ``dest``.

    A real copy, never a hard link: a user editing an exported file must not change the store.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` in a stable order, never following symbolic links."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            if path.is_symlink():
                continue
            yield path

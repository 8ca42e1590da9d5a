"""Import a folder or a zip archive into a dataset.

One bad file never stops an import and never changes what is already stored: every problem is
reported with the file it concerns, images are stored content-addressed before their rows are
committed, and rows of a batch are committed together.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from labelloop.domain import Box, Dataset, ImageState, InvalidInput, TaskType, WrongTaskType
from labelloop.domain.rules import clip_box, color_for, validate_label_name
from labelloop.formats import ImportContext, ImportItem, detect_format, get_format
from labelloop.imaging import ImageInfo, ImageProblem, probe_image
from labelloop.storage import datasets_repo, images_repo
from labelloop.storage.blobs import sha256_of

from .context import AppContext

BATCH = 200
# Boxes from normalised formats (YOLO) come back with float noise such as 84.9997: clipping by
# less than this is rounding, not a box that reached outside the image.
CLIP_TOLERANCE = 0.01
Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    dataset: str
    format: str
    found: int = 0
    imported: int = 0
    labeled: int = 0
    unlabeled: int = 0
    boxes: int = 0
    duplicates: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "dataset": self.dataset,
            "format": self.format,
            "found": self.found,
            "imported": self.imported,
            "labeled": self.labeled,
            "unlabeled": self.unlabeled,
            "boxes": self.boxes,
            "duplicates": self.duplicates,
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "warnings": [{"file": f, "problem": p} for f, p in self.warnings],
            "labels_added": self.labels_added,
        }


@dataclass
class _Ready:
    """An item that passed every check and is about to be stored."""

    item: ImportItem
    info: ImageInfo
    sha256: str
    size_bytes: int
    label: str | None
    boxes: list[Box] | None


def import_path(
    app: AppContext,
    dataset_name: str,
    path: Path,
    *,
    format_name: str = "auto",
    progress: Progress | None = None,
) -> ImportReport:
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"{path} does not exist")
    dataset = _dataset(app, dataset_name)
    if path.is_file() and zipfile.is_zipfile(path):
        from labelloop.formats.archive import extract_zip

        with tempfile.TemporaryDirectory(prefix="labelloop-import-") as tmp:
            issues = extract_zip(path, Path(tmp))
            report = _import_folder(app, dataset, Path(tmp), format_name, progress)
            report.skipped[:0] = [(i.path, i.problem) for i in issues]
            return report
    if path.is_file():
        raise InvalidInput(f"{path} is a file; import takes a folder or a .zip archive")
    return _import_folder(app, dataset, path, format_name, progress)


def _dataset(app: AppContext, name: str) -> Dataset:
    with app.db.session() as session:
        return datasets_repo.get_dataset_by_name(session, name)


def _import_folder(
    app: AppContext, dataset: Dataset, root: Path, format_name: str, progress: Progress | None
) -> ImportReport:
    fmt = detect_format(root) if format_name == "auto" else get_format(format_name)
    if dataset.task_type not in fmt.task_types:
        raise WrongTaskType(
            f"format {fmt.name} holds {' or '.join(t.value for t in fmt.task_types)} data; "
            f"dataset {dataset.name!r} is a {dataset.task_type.value} dataset"
        )
    report = ImportReport(dataset=dataset.name, format=fmt.name)
    ctx = ImportContext(root=root)
    items = list(fmt.read(root, ctx))
    report.found = len(items)
    report.skipped.extend((i.path, i.problem) for i in ctx.errors)
    report.warnings.extend((i.path, i.problem) for i in ctx.warnings)
    _ensure_labels(app, dataset, ctx.declared_labels, report)

    seen: set[str] = set()  # content already taken by this import
    done = 0
    workers = min(8, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(items), BATCH):
            batch = items[start : start + BATCH]
            checked = list(pool.map(lambda it: _check(it, dataset.task_type), batch))
            ready: list[_Ready] = []
            for item, outcome in zip(batch, checked, strict=True):
                if isinstance(outcome, str):
                    report.skipped.append((item.relative_path, outcome))
                    continue
                outcome_ready, warnings = outcome
                report.warnings.extend((item.relative_path, w) for w in warnings)
                ready.append(outcome_ready)
            ready = _drop_duplicates(app, dataset, ready, seen, report)
            _ensure_labels(app, dataset, _labels_in(ready), report)
            _store(app, dataset, ready, report)
            done += len(batch)
            if progress:
                progress(done, len(items))
    return report


def _check(item: ImportItem, task_type: TaskType) -> str | tuple[_Ready, list[str]]:
    """Probe the image and validate its annotation; a string is the reason to skip it."""
    warnings: list[str] = []
    if item.label is not None and task_type is TaskType.DETECTION:
        return f"holds a class label ({item.label!r}) but the dataset is a detection dataset"
    has_boxes = item.boxes is not None or item.normalized_boxes is not None
    if has_boxes and task_type is TaskType.CLASSIFICATION:
        return "holds boxes but the dataset is a classification dataset"
    try:
        info = probe_image(item.path)
    except ImageProblem as exc:
        return str(exc)
    label = None
    if item.label is not None:
        try:
            label = validate_label_name(item.label)
        except InvalidInput as exc:
            return str(exc)
    if item.declared_size and tuple(item.declared_size) != (info.width, info.height):
        warnings.append(
            f"the annotation says the image is {item.declared_size[0]}x{item.declared_size[1]}, "
            f"the image is {info.width}x{info.height}; the image size is used"
        )
    boxes = None
    if has_boxes:
        boxes = []
        raw = item.pixel_boxes(info.width, info.height) or []
        for box in raw:
            try:
                name = validate_label_name(box.label)
            except InvalidInput as exc:
                warnings.append(f"box dropped: {exc}")
                continue
            clipped = clip_box(Box(name, box.x, box.y, box.w, box.h), info.width, info.height)
            described = f"({box.x:g}, {box.y:g}, {box.w:g}, {box.h:g})"
            if clipped is None:
                warnings.append(
                    f"box {name} {described} is empty or outside the "
                    f"{info.width}x{info.height} image; dropped"
                )
                continue
            moved = max(
                abs(clipped.x - box.x),
                abs(clipped.y - box.y),
                abs(clipped.x2 - box.x2),
                abs(clipped.y2 - box.y2),
            )
            if moved > CLIP_TOLERANCE:
                warnings.append(f"box {name} {described} reached outside the image; clipped")
            boxes.append(clipped)
    try:
        sha = sha256_of(item.path)
        size = item.path.stat().st_size
    except OSError as exc:
        return f"cannot read the file: {exc}"
    return _Ready(item, info, sha, size, label, boxes), warnings


def _drop_duplicates(
    app: AppContext, dataset: Dataset, ready: list[_Ready], seen: set[str], report: ImportReport
) -> list[_Ready]:
    with app.db.session() as session:
        stored = images_repo.existing_shas(session, dataset.id, [r.sha256 for r in ready])
    kept = []
    for r in ready:
        if r.sha256 in stored or r.sha256 in seen:
            report.duplicates.append(r.item.relative_path)
            continue
        seen.add(r.sha256)
        kept.append(r)
    return kept


def _labels_in(ready: list[_Ready]) -> list[str]:
    names: list[str] = []
    for r in ready:
        if r.label is not None:
            names.append(r.label)
        for box in r.boxes or []:
            names.append(box.label)
    return list(dict.fromkeys(names))


def _ensure_labels(
    app: AppContext, dataset: Dataset, names: list[str], report: ImportReport
) -> None:
    valid = []
    for name in names:
        try:
            valid.append(validate_label_name(name))
        except InvalidInput as exc:
            report.warnings.append(("", f"label not added: {exc}"))
    if not valid:
        return
    with app.db.session() as session:
        existing = datasets_repo.label_ids(session, dataset.id)
        missing = [n for n in dict.fromkeys(valid) if n not in existing]
        if missing:
            start = len(existing)
            added = datasets_repo.add_labels(
                session, dataset.id, [(n, color_for(start + i)) for i, n in enumerate(missing)]
            )
            report.labels_added.extend(label.name for label in added)


def _store(app: AppContext, dataset: Dataset, ready: list[_Ready], report: ImportReport) -> None:
    if not ready:
        return
    for r in ready:
        app.blobs.put_file(r.item.path, r.sha256)
    try:
        with app.db.session() as session:
            ids = datasets_repo.label_ids(session, dataset.id)
            for r in ready:
                _insert(session, dataset, r, ids)
        for r in ready:
            _count(report, r)
    except IntegrityError:
        # Another import stored some of these images meanwhile: retry one by one so only
        # the clashing images are reported, and the rest of the batch still lands.
        for r in ready:
            try:
                with app.db.session() as session:
                    _insert(session, dataset, r, datasets_repo.label_ids(session, dataset.id))
                _count(report, r)
            except IntegrityError:
                report.duplicates.append(r.item.relative_path)


def _insert(session, dataset: Dataset, r: _Ready, label_ids: dict[str, int]) -> None:
    labeled = r.label is not None or r.boxes is not None
    image_id = images_repo.add_image(
        session,
        dataset_id=dataset.id,
        sha256=r.sha256,
        width=r.info.width,
        height=r.info.height,
        original_path=r.item.relative_path,
        file_format=r.info.format,
        size_bytes=r.size_bytes,
        state=ImageState.LABELED if labeled else ImageState.UNLABELED,
    )
    if labeled:
        images_repo.set_annotation(
            session,
            image_id,
            label_id=label_ids[r.label] if r.label is not None else None,
            boxes=[(label_ids[b.label], b.x, b.y, b.w, b.h) for b in r.boxes or []],
            annotated_by="import",
        )


def _count(report: ImportReport, r: _Ready) -> None:
    report.imported += 1
    if r.label is not None or r.boxes is not None:
        report.labeled += 1
        report.boxes += len(r.boxes or [])
    else:
        report.unlabeled += 1

"""Import a folder or a zip archive into a dataset.

One bad file never stops an import and never changes what a person labeled: every problem is
reported with the file it concerns, images are stored content-addressed before their rows are
committed, and the rows of a batch (with the labels they need) are committed together.

An image already in the dataset (same content) is not stored twice. When the import carries an
annotation for it and it has none yet (``unlabeled``, or ``to_confirm``: a person's label beats
a model's proposal), the annotation is applied, as a person annotating it would: that is the
"images first, annotations later" workflow. A ``labeled`` image is never overwritten.
"""

from __future__ import annotations

import math
import os
import tempfile
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from labelloop.domain import (
    Box,
    Conflict,
    Dataset,
    Image,
    ImageState,
    InvalidInput,
    NotFound,
    TaskType,
    WrongTaskType,
)
from labelloop.domain.rules import clip_box, color_for, validate_label_name
from labelloop.domain.states import Action, next_state
from labelloop.formats import ImportContext, ImportItem, detect_format, get_format
from labelloop.imaging import ImageInfo, ImageProblem, probe_image
from labelloop.storage import datasets_repo, images_repo
from labelloop.storage.blobs import sha256_of

from .context import AppContext
from .import_checks import (
    labels_left_unread,
    labels_matched_ignoring_case,
    refuse_other_task_type,
)

BATCH = 200
# Boxes from normalised formats (YOLO) come back with float noise such as 84.9997: clipping by
# less than this is rounding, not a box that reached outside the image.
CLIP_TOLERANCE = 0.01
# Two annotations of the same image are "the same" when their boxes agree to half a pixel
# (a round trip through a normalised format moves a box by far less).
SAME_BOX_PIXELS = 0.5
ANNOTATED_BY = "import"
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
    # images already in the dataset, unlabeled or to confirm, that this import annotated
    annotated_existing: int = 0
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
            "annotated_existing": self.annotated_existing,
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

    @property
    def annotated(self) -> bool:
        return self.label is not None or self.boxes is not None

    @property
    def path(self) -> str:
        return self.item.relative_path


@dataclass
class _Labels:
    """The labels the source declares: added with the first batch that stores anything."""

    declared: list[str]
    sources: dict[str, str]  # label -> the file that declared it
    declared_added: bool = False

    def to_add(self, ready: list[_Ready]) -> list[str]:
        used = _labels_in(ready)
        return list(dict.fromkeys(used if self.declared_added else [*self.declared, *used]))


@dataclass
class _Outcome:
    """What one transaction did; merged into the report once it is committed."""

    stored: list[_Ready] = field(default_factory=list)
    annotated: list[_Ready] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    labels_added: list[str] = field(default_factory=list)

    @property
    def wrote(self) -> bool:
        return bool(self.stored or self.annotated)

    def merge_into(self, report: ImportReport) -> None:
        for r in self.stored:
            _count(report, r)
        report.annotated_existing += len(self.annotated)
        report.duplicates.extend(self.duplicates)
        report.warnings.extend(self.warnings)
        report.labels_added.extend(self.labels_added)


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
        from labelloop.formats.archive import extract_zip, unwrap

        with tempfile.TemporaryDirectory(prefix="labelloop-import-") as tmp:
            issues = extract_zip(path, Path(tmp))
            # Only an archive is unwrapped: a folder on the server is taken as the user named it.
            report = _import_folder(app, dataset, unwrap(Path(tmp)), format_name, progress)
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
    if format_name == "auto" and fmt.name == "folder":
        report.warnings.extend(labels_left_unread(root, dataset))
    ctx = ImportContext(root=root)
    items = list(fmt.read(root, ctx))
    refuse_other_task_type(items, dataset, fmt.name)
    report.found = len(items)
    report.skipped.extend((i.path, i.problem) for i in ctx.errors)
    report.warnings.extend((i.path, i.problem) for i in ctx.warnings)
    renamed, where = labels_matched_ignoring_case(items, ctx, dataset)
    report.warnings.extend(
        (where[name], f"label {name!r} is taken as the dataset's {to!r}")
        for name, to in renamed.items()
    )
    declared = list(dict.fromkeys(renamed.get(name, name) for name in ctx.declared_labels))
    labels = _Labels(declared, dict(ctx.label_sources))

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
            new, duplicates = _split_duplicates(app, dataset, ready, seen)
            _store(app, dataset, new, duplicates, labels, report)
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
        raw = item.pixel_boxes(info.width, info.height) or []
        boxes = _checked_boxes(raw, info, warnings)
        given = len(raw) + item.dropped_annotations
        if given and not boxes:
            # "Labeled, no objects" would teach a detector that nothing is there.
            source = f" in {item.source}" if item.source else ""
            warnings.append(
                f"left unlabeled: all {given} box(es){source} were dropped (see the other "
                "warnings); importing it as labeled with no objects would make it a false "
                "negative example"
            )
            boxes = None
    try:
        sha = sha256_of(item.path)
        size = item.path.stat().st_size
    except OSError as exc:
        return f"cannot read the file: {exc}"
    return _Ready(item, info, sha, size, label, boxes), warnings


def _checked_boxes(raw: list[Box], info: ImageInfo, warnings: list[str]) -> list[Box]:
    """The boxes with valid labels, clipped to the image; each one dropped is reported."""
    boxes = []
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
    return boxes


def _split_duplicates(
    app: AppContext, dataset: Dataset, ready: list[_Ready], seen: set[str]
) -> tuple[list[_Ready], list[_Ready]]:
    """(images to store, images whose content the dataset or this import already has)."""
    with app.db.session() as session:
        stored = images_repo.existing_shas(session, dataset.id, [r.sha256 for r in ready])
    new, duplicates = [], []
    for r in ready:
        if r.sha256 in stored or r.sha256 in seen:
            duplicates.append(r)
            continue
        seen.add(r.sha256)
        new.append(r)
    return new, duplicates


def _labels_in(ready: list[_Ready]) -> list[str]:
    names: list[str] = []
    for r in ready:
        if r.label is not None:
            names.append(r.label)
        for box in r.boxes or []:
            names.append(box.label)
    return list(dict.fromkeys(names))


def _store(
    app: AppContext,
    dataset: Dataset,
    new: list[_Ready],
    duplicates: list[_Ready],
    labels: _Labels,
    report: ImportReport,
) -> None:
    """Store one batch in one transaction; on a clash, item by item so the rest still lands."""
    if not new and not duplicates:
        return
    for r in new:
        app.blobs.put_file(r.item.path, r.sha256)
    try:
        _commit(app, dataset, new, duplicates, labels, report)
    except IntegrityError:
        # Another import stored some of these images (or labels) meanwhile: one by one, so
        # only the clashing images are affected. An image stored meanwhile is a duplicate,
        # whose annotation may still apply.
        for r in new:
            try:
                _commit(app, dataset, [r], [], labels, report)
            except IntegrityError:
                _commit_duplicate(app, dataset, r, labels, report)
        for r in duplicates:
            _commit_duplicate(app, dataset, r, labels, report)


def _commit(
    app: AppContext,
    dataset: Dataset,
    new: list[_Ready],
    duplicates: list[_Ready],
    labels: _Labels,
    report: ImportReport,
) -> None:
    with app.db.session() as session:
        outcome = _write(session, dataset, new, duplicates, labels)
    outcome.merge_into(report)
    if outcome.wrote:
        labels.declared_added = True


def _commit_duplicate(
    app: AppContext, dataset: Dataset, r: _Ready, labels: _Labels, report: ImportReport
) -> None:
    try:
        _commit(app, dataset, [], [r], labels, report)
    except IntegrityError:  # changed again meanwhile: whatever is stored now stays
        report.duplicates.append(r.path)


def _write(
    session, dataset: Dataset, new: list[_Ready], duplicates: list[_Ready], labels: _Labels
) -> _Outcome:
    """Insert ``new``, annotate the ``duplicates`` that may be annotated, add the labels used.

    Nothing is written (not even a declared label) unless an image is stored or annotated.
    """
    outcome = _Outcome()
    current: dict[str, _Current] = {}  # sha256 -> what the image holds (or will hold)
    for r in new:
        state = ImageState.LABELED if r.annotated else ImageState.UNLABELED
        current[r.sha256] = _Current(None, state, r)
    to_annotate: list[_Ready] = []
    for r in duplicates:
        if not r.annotated:
            outcome.duplicates.append(r.path)
            continue
        now = current.get(r.sha256) or _stored(session, dataset, r.sha256)
        if now is None:  # removed meanwhile: nothing to annotate
            outcome.duplicates.append(r.path)
            continue
        current[r.sha256] = now
        if now.state is ImageState.LABELED:
            outcome.duplicates.append(r.path)
            if _differs(r, now.annotation(session, dataset)):
                outcome.warnings.append((r.path, _kept_message(r, now)))
            continue
        to_annotate.append(r)
        current[r.sha256] = _Current(now.image, ImageState.LABELED, r)
    if not new and not to_annotate:
        return outcome
    outcome.labels_added = _add_labels(
        session, dataset, labels.to_add(new + to_annotate), labels.sources, outcome.warnings
    )
    label_ids = datasets_repo.label_ids(session, dataset.id)
    for r in new:
        _insert(session, dataset, r, label_ids)
        outcome.stored.append(r)
    for r in to_annotate:
        if _annotate_existing(session, dataset, r, label_ids):
            outcome.annotated.append(r)
        else:
            outcome.duplicates.append(r.path)
            outcome.warnings.append(
                (r.path, "already in the dataset and labeled meanwhile; its labels were kept")
            )
    if not outcome.wrote:  # every image was labeled meanwhile: the labels are not needed
        session.rollback()
        outcome.labels_added = []
    return outcome


@dataclass
class _Current:
    """An image of the dataset met again: its row (None: stored by this batch), its state."""

    image: Image | None
    state: ImageState
    ready: _Ready | None = None  # the annotation this import gives it, when it does

    def annotation(self, session, dataset: Dataset) -> tuple[str | None, list[Box]]:
        if self.ready is not None:
            return self.ready.label, list(self.ready.boxes or [])
        assert self.image is not None
        stored = images_repo.annotations_for(session, dataset.id, [self.image.id])
        annotation = stored.get(self.image.id)
        return (annotation.label, list(annotation.boxes)) if annotation else (None, [])


def _stored(session, dataset: Dataset, sha256: str) -> _Current | None:
    try:
        image = images_repo.resolve_image(session, dataset.id, sha256)
    except NotFound:
        return None
    if image.sha256 != sha256:  # the reference matched a file name, not the content
        return None
    return _Current(image, image.state)


def _annotate_existing(session, dataset: Dataset, r: _Ready, label_ids: dict[str, int]) -> bool:
    """Apply ``r``'s annotation to the stored image of the same content, as annotating does.

    The same steps as ``annotating.annotate`` (a person labeling an image): the state machine's
    ``annotate`` transition, the annotation written, any proposal dropped. False when the image
    got an annotation since it was read (``expected_version=0``: it must still have none).
    """
    image = images_repo.resolve_image(session, dataset.id, r.sha256)
    if image.state is ImageState.LABELED:
        return False
    state = next_state(image.state, Action.ANNOTATE)
    try:
        images_repo.set_annotation(
            session,
            image.id,
            label_id=label_ids[r.label] if r.label is not None else None,
            boxes=[(label_ids[b.label], b.x, b.y, b.w, b.h) for b in r.boxes or []],
            annotated_by=ANNOTATED_BY,
            expected_version=0,
        )
    except Conflict:
        return False
    images_repo.delete_predictions(session, [image.id])
    images_repo.set_state(session, [image.id], state)
    return True


def _differs(r: _Ready, stored: tuple[str | None, list[Box]]) -> bool:
    label, boxes = stored
    if r.label != label:
        return True
    mine = sorted(r.boxes or [], key=_box_key)
    theirs = sorted(boxes, key=_box_key)
    if len(mine) != len(theirs):
        return True
    return any(
        a.label != b.label
        or not all(
            math.isclose(p, q, abs_tol=SAME_BOX_PIXELS)
            for p, q in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h))
        )
        for a, b in zip(mine, theirs, strict=True)
    )


def _box_key(box: Box) -> tuple:
    return (box.label, round(box.x), round(box.y), round(box.w), round(box.h))


def _kept_message(r: _Ready, now: _Current) -> str:
    if now.image is not None:
        where = f" as {now.image.original_path}"
    else:  # stored by this batch, from an earlier file of this import
        where = f" as {now.ready.path if now.ready else 'an earlier file'} (this import)"
    source = f" ({r.item.source})" if r.item.source else ""
    return (
        f"the same image is already labeled in the dataset{where}; its labels were kept and "
        f"this file's different annotation{source} was not applied"
    )


def _add_labels(
    session,
    dataset: Dataset,
    names: list[str],
    sources: dict[str, str],
    warnings: list[tuple[str, str]],
) -> list[str]:
    valid = []
    for name in names:
        try:
            valid.append(validate_label_name(name))
        except InvalidInput as exc:
            warnings.append((sources.get(name, ""), f"label not added: {exc}"))
    if not valid:
        return []
    existing = datasets_repo.label_ids(session, dataset.id)
    missing = [n for n in dict.fromkeys(valid) if n not in existing]
    if not missing:
        return []
    start = len(existing)
    added = datasets_repo.add_labels(
        session, dataset.id, [(n, color_for(start + i)) for i, n in enumerate(missing)]
    )
    return [label.name for label in added]


def _insert(session, dataset: Dataset, r: _Ready, label_ids: dict[str, int]) -> None:
    image_id = images_repo.add_image(
        session,
        dataset_id=dataset.id,
        sha256=r.sha256,
        width=r.info.width,
        height=r.info.height,
        original_path=r.item.relative_path,
        file_format=r.info.format,
        size_bytes=r.size_bytes,
        state=ImageState.LABELED if r.annotated else ImageState.UNLABELED,
    )
    if r.annotated:
        images_repo.set_annotation(
            session,
            image_id,
            label_id=label_ids[r.label] if r.label is not None else None,
            boxes=[(label_ids[b.label], b.x, b.y, b.w, b.h) for b in r.boxes or []],
            annotated_by=ANNOTATED_BY,
        )


def _count(report: ImportReport, r: _Ready) -> None:
    report.imported += 1
    if r.annotated:
        report.labeled += 1
        report.boxes += len(r.boxes or [])
    else:
        report.unlabeled += 1

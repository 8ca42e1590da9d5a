"""What the items a format read say before anything is stored: annotation files auto-detection
left unread, labels that differ from the dataset's only by case, a file of the other task type.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import islice
from pathlib import Path

from labelloop.domain import Dataset, TaskType, WrongTaskType
from labelloop.formats import ImportContext, ImportItem
from labelloop.formats.base import walk_files

_ANNOTATION_LIKE = frozenset({".json", ".jsonl", ".xml", ".manifest", ".yaml", ".yml", ".txt"})
_FILES_TO_LOOK_AT = 5000


def labels_left_unread(root: Path, dataset: Dataset) -> list[tuple[str, str]]:
    """Why a folder that auto-detection read as plain, unlabeled images may hold labels after
    all: annotation files no format could read (a truncated COCO file, a VOC folder of broken
    XML), or a single class folder named like a label. Said at the top of the report, since the
    import itself succeeds."""
    unread: list[str] = []
    for path in islice(walk_files(root), _FILES_TO_LOOK_AT):
        suffix = path.suffix.lower()
        if suffix in _ANNOTATION_LIKE and not (suffix == ".txt" and path.parent == root):
            unread.append(path.relative_to(root).as_posix())
    found = []
    if unread:
        more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
        found.append(
            (
                unread[0],
                f"looks like annotations ({unread[0]}{more}), but no format could read it, so "
                "the images were imported without labels. Import the folder again naming its "
                "format (--format coco, voc, yolo, manifest or labelstudio) to see what is "
                "wrong; images already imported then get their labels",
            )
        )
    folders = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(folders) == 1 and folders[0].name in dataset.label_names():
        found.append(
            (
                folders[0].name + "/",
                f"one class folder, read as plain unlabeled images; import it with --format "
                f"imagenet to label them {folders[0].name!r}",
            )
        )
    return found


def labels_matched_ignoring_case(
    items: list[ImportItem], ctx: ImportContext, dataset: Dataset
) -> tuple[dict[str, str], dict[str, str]]:
    """Rename, in ``items``, the labels that differ from exactly one dataset label only by case
    ("rbc" for "RBC"), so that an annotation file written by another tool does not add a second
    label for the same class. Returns {imported name: dataset label} and, for each renamed
    name, the first file that used it (for the report)."""
    existing = dataset.label_names()
    folded: dict[str, list[str]] = {}
    for name in existing:
        folded.setdefault(name.casefold(), []).append(name)
    used = set(ctx.declared_labels)
    for item in items:
        if item.label is not None:
            used.add(item.label)
        for box in (item.boxes or []) + (item.normalized_boxes or []):
            used.add(box.label)
    renamed = {
        name: folded[name.casefold()][0]
        for name in sorted(used)
        if name not in existing and len(folded.get(name.casefold(), [])) == 1
    }
    where = {name: ctx.label_sources.get(name, "") for name in renamed}
    if not renamed:
        return {}, where
    for item in items:
        names = {item.label} | {b.label for b in (item.boxes or []) + (item.normalized_boxes or [])}
        for name in names & renamed.keys():
            where[name] = where[name] or item.source or item.relative_path
        if item.label in renamed:
            item.label = renamed[item.label]
        for attribute in ("boxes", "normalized_boxes"):
            boxes = getattr(item, attribute)
            if boxes:
                setattr(
                    item,
                    attribute,
                    [replace(b, label=renamed.get(b.label, b.label)) for b in boxes],
                )
    return renamed, where


def refuse_other_task_type(items: list[ImportItem], dataset: Dataset, fmt: str) -> None:
    """Formats that hold either task (manifest, Label Studio) tell theirs by their items: a file
    whose annotations are all of the other task is refused whole, before anything is stored,
    as a COCO file for a classification dataset is (one skip line per image said it badly)."""
    labels = sum(item.label is not None for item in items)
    boxes = sum(item.boxes is not None or item.normalized_boxes is not None for item in items)
    if dataset.task_type is TaskType.DETECTION and labels and not boxes:
        other = "classification"
    elif dataset.task_type is TaskType.CLASSIFICATION and boxes and not labels:
        other = "detection"
    else:
        return
    raise WrongTaskType(
        f"the {fmt} data holds {other} annotations ({max(labels, boxes)} images); dataset "
        f"{dataset.name!r} is a {dataset.task_type.value} dataset. Nothing was imported"
    )

"""Read Label Studio JSON exports (a list of tasks) and the images they name.

Every ``*.json`` under the root that holds a list of tasks (objects with a ``data`` object) is
read. A task's image is found as ``_references`` describes. Its newest annotation that was not
cancelled is used: ``choices`` make a class label, ``rectanglelabels`` make boxes. Predictions
are a model's proposals, never annotations: a task with only predictions reads unlabeled.

A task annotated with an empty result is labeled with no boxes in a detection project and
unlabeled in a classification one (an image without a class is not labeled). The project's
kind comes from labelloop's ``meta`` when present, else from the results in the file.

Images on disk no task names are imported unlabeled, unless an export could not be read at all
(they may be its images: importing them unlabeled would silently lose their annotations).
``label_config.xml`` (written by labelloop, Label Studio's labeling config) declares labels.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from labelloop.domain import InvalidInput
from labelloop.domain.rules import validate_label_name
from labelloop.imaging import IMAGE_SUFFIXES, looks_like_image

from .._file_index import FileIndex
from .._json_input import JsonProblem, read_json, type_name
from .._scan import scan_files
from .._xml import XmlProblem, read_xml
from ..base import ImportContext, ImportItem
from ._references import ReferenceProblem, find_image, image_reference
from ._results import CHOICES, RECTANGLES, parse_result

__all__ = ["CONFIG_FILE", "META_KEY", "is_task_list", "read_labelstudio"]

CONFIG_FILE = "label_config.xml"
META_KEY = "labelloop"  # task.meta.labelloop: what labelloop knew about the image


def is_task_list(data: object) -> bool:
    return isinstance(data, list) and all(
        isinstance(task, dict) and isinstance(task.get("data"), dict) for task in data[:20]
    )


@dataclass
class _Export:
    path: Path
    tasks: list
    detection: bool | None  # the project's kind; None when nothing in the file tells


def read_labelstudio(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    _declare_from_config(root / CONFIG_FILE, ctx)
    json_files = [p for p in scan_files(root, ctx) if p.suffix.lower() == ".json"]
    images = FileIndex(root, accept=looks_like_image)
    claimed: dict[Path, str] = {}
    exports, unreadable = _load_exports(json_files, ctx)
    for export in exports:
        yield from _items(export, images, claimed, ctx)
    leftovers = [path for path in images.paths if path not in claimed]
    if unreadable and not exports and leftovers:
        ctx.error(
            unreadable[0],
            f"{len(leftovers)} image file(s) not imported: no Label Studio export could be read "
            f"({', '.join(unreadable)} failed), so their annotations are unknown",
        )
        return
    for path in leftovers:
        yield ImportItem(path=path, relative_path=images.relative(path))


def _declare_from_config(path: Path, ctx: ImportContext) -> None:
    if not path.is_file() or path.is_symlink():
        return
    try:
        config = read_xml(path)
    except XmlProblem as exc:
        ctx.warn(path, f"labels not read: {exc}")
        return
    for tag in ("Choice", "Label"):
        for element in config.iter(tag):
            try:
                ctx.declare_label(validate_label_name(element.get("value")), path)
            except InvalidInput as exc:
                ctx.warn(path, f"<{tag}> ignored: {exc}")


def _load_exports(json_files: list[Path], ctx: ImportContext) -> tuple[list[_Export], list[str]]:
    exports: list[_Export] = []
    unreadable: list[str] = []
    for path in json_files:
        try:
            data = read_json(path)
        except JsonProblem as exc:
            ctx.error(path, str(exc))
            unreadable.append(ctx.display(path))
            continue
        if isinstance(data, dict) and isinstance(data.get("data"), dict):
            data = [data]  # one task saved on its own
        if not isinstance(data, list) or not any(isinstance(t, dict) and "data" in t for t in data):
            if data != []:
                ctx.warn(path, "ignored: not a Label Studio export (a list of tasks with 'data')")
            continue
        exports.append(_Export(path, data, _project_is_detection(data)))
    return exports, unreadable


def _project_is_detection(tasks: list) -> bool | None:
    kinds: set[str] = set()
    for task in tasks:
        if not isinstance(task, dict):
            continue
        meta = task.get("meta")
        ours = meta.get(META_KEY) if isinstance(meta, dict) else None
        if isinstance(ours, dict) and ours.get("task_type") in ("detection", "classification"):
            return ours["task_type"] == "detection"
        for key in ("annotations", "predictions"):
            for entry in task.get(key) or ():
                result = entry.get("result") if isinstance(entry, dict) else None
                for item in result if isinstance(result, list) else ():
                    if isinstance(item, dict) and item.get("type") in (CHOICES, RECTANGLES):
                        kinds.add(item["type"])
    if RECTANGLES in kinds:
        return True
    return False if CHOICES in kinds else None


def _items(
    export: _Export, images: FileIndex, claimed: dict[Path, str], ctx: ImportContext
) -> Iterator[ImportItem]:
    shown = ctx.display(export.path)
    for index, task in enumerate(export.tasks):
        where = _describe(index, task)
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            ctx.error(export.path, f"{where}: no 'data' object; skipped")
            continue
        reference = image_reference(task["data"], IMAGE_SUFFIXES)
        if reference is None:
            ctx.error(export.path, f"{where}: data names no image; skipped")
            continue
        try:
            path = find_image(reference, images, export.path.parent)
        except ReferenceProblem as exc:
            ctx.error(export.path, f"{where}: {exc}; skipped")
            continue
        if path is None:
            ctx.error(export.path, f"{where}: image {reference!r} not found; skipped")
            continue
        if path in claimed:
            ctx.error(export.path, f"{where}: {images.relative(path)} is already {claimed[path]}")
            continue
        claimed[path] = f"used by {shown} {where}"
        item = _item(task, where, path, images, export, ctx)
        if item is not None:
            yield item


def _item(
    task: dict, where: str, path: Path, images: FileIndex, export: _Export, ctx: ImportContext
) -> ImportItem | None:
    item = ImportItem(
        path=path, relative_path=images.relative(path), source=ctx.display(export.path)
    )
    annotation = _newest_annotation(task, where, export.path, ctx)
    if annotation is None:
        return item
    parsed = parse_result(annotation["result"], where)
    for warning in parsed.warnings:
        ctx.warn(export.path, warning)
    if parsed.error:
        ctx.error(export.path, f"{parsed.error}; image {item.relative_path} skipped")
        return None
    item.declared_size = parsed.declared_size
    if RECTANGLES in parsed.kinds or (not parsed.kinds and export.detection):
        if parsed.label is not None:
            ctx.warn(export.path, f"{where}: choice {parsed.label!r} ignored beside boxes")
        item.normalized_boxes = parsed.boxes
        item.dropped_annotations = parsed.dropped
    elif parsed.label is not None:
        item.label = parsed.label
    elif not parsed.kinds:
        ctx.warn(export.path, f"{where}: the annotation is empty; imported unlabeled")
    return item


def _newest_annotation(task: dict, where: str, path: Path, ctx: ImportContext) -> dict | None:
    annotations = task.get("annotations")
    if annotations is None:
        return None
    if not isinstance(annotations, list):
        ctx.warn(path, f"{where}: annotations is {type_name(annotations)}, not a list; ignored")
        return None
    live = []
    for number, entry in enumerate(annotations):
        if not isinstance(entry, dict) or entry.get("was_cancelled") is True:
            continue
        if not isinstance(entry.get("result"), list):
            ctx.warn(path, f"{where}.annotations[{number}]: result is not a list; ignored")
            continue
        live.append(entry)
    if not live:
        return None
    if len(live) > 1:
        ctx.warn(path, f"{where}: {len(live)} annotations; the newest is used")
    # ISO times sort as text; an annotation without one counts as oldest, list order breaks ties.
    return max(
        enumerate(live),
        key=lambda pair: (
            str(pair[1].get("updated_at") or pair[1].get("created_at") or ""),
            pair[0],
        ),
    )[1]


def _describe(index: int, task: object) -> str:
    task_id = task.get("id") if isinstance(task, dict) else None
    if isinstance(task_id, (int, str)) and not isinstance(task_id, bool):
        return f"tasks[{index}] (id {task_id})"
    return f"tasks[{index}]"

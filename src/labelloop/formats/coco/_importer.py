"""Read COCO detection files and the images they list.

Every ``*.json`` under the root holding an object with an ``images`` list is a COCO file:
``annotations.json``, Roboflow's ``train/_annotations.coco.json``, the COCO devkit's
``annotations/instances_val2017.json`` (images in ``val2017/``). A file's ``file_name`` is looked
up relative to the file's folder, its ``images/`` folder, the folder above (and its
``images/`` or, for ``instances_<split>.json``, ``<split>/``), the root and ``root/images``;
then by file name alone, nearest first.

Images a file lists with no annotation are labeled with no boxes (unless labelloop marked them
unlabeled); images on disk that no file lists are imported unlabeled. When an annotation file
cannot be read, the unlisted images are not imported: importing them unlabeled would silently
lose their boxes; the person fixes the file and imports again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.imaging import looks_like_image

from .._file_index import FileIndex, basename_of
from .._json_input import JsonProblem, read_json
from .._scan import scan_files
from ..base import ImportContext, ImportItem
from ._schema import CocoFile, CocoProblem, parse_coco

__all__ = ["looks_like_annotation_name", "read_coco"]

_ANNOTATION_NAME_HINTS = ("annotation", "instances", "coco")


def looks_like_annotation_name(path: Path) -> bool:
    name = path.name.lower()
    return any(hint in name for hint in _ANNOTATION_NAME_HINTS)


def read_coco(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    json_files = [p for p in scan_files(root, ctx) if p.suffix.lower() == ".json"]
    images = FileIndex(root, accept=looks_like_image)
    claimed: dict[Path, str] = {}  # image file -> where it was listed
    unreadable: list[str] = []
    for json_path in json_files:
        parsed = _load(json_path, ctx, unreadable)
        if parsed is None:
            continue
        for name in parsed.labels:
            ctx.declare_label(name, json_path)
        for problem in parsed.warnings:
            ctx.warn(json_path, problem)
        yield from _items(json_path, parsed, images, claimed, ctx)
        # After the valid entries, so a file also listed by a valid entry is imported.
        _hold_back_failed_entries(json_path, parsed, images, claimed, ctx)
    leftovers = [path for path in images.paths if path not in claimed]
    if unreadable and leftovers:
        ctx.error(
            unreadable[0],
            f"{len(leftovers)} image file(s) no readable annotation file lists were not "
            f"imported: they may belong to {', '.join(unreadable)}, which could not be read",
        )
        return
    for path in leftovers:
        yield ImportItem(path=path, relative_path=images.relative(path))


def _load(json_path: Path, ctx: ImportContext, unreadable: list[str]) -> CocoFile | None:
    """The parsed COCO file; None (reported when it matters) for any other JSON."""
    expected = looks_like_annotation_name(json_path)
    try:
        data = read_json(json_path)
    except JsonProblem as exc:
        ctx.error(json_path, str(exc))
        if expected:
            unreadable.append(ctx.display(json_path))
        return None
    if not isinstance(data, dict) or "images" not in data:
        if expected:  # named like an annotation file but holds something else: say so
            ctx.warn(json_path, "ignored: not a COCO file (no 'images' list)")
        return None
    try:
        return parse_coco(data)
    except CocoProblem as exc:
        ctx.error(json_path, str(exc))
        unreadable.append(ctx.display(json_path))
        return None


def _items(
    json_path: Path,
    parsed: CocoFile,
    images: FileIndex,
    claimed: dict[Path, str],
    ctx: ImportContext,
) -> Iterator[ImportItem]:
    bases = _search_folders(json_path, images.root)
    for image in parsed.images:
        path = _find(image.file_name, bases, images, json_path.parent)
        if path is None:
            ctx.error(json_path, f"{image.where}: image file not found; skipped")
            continue
        here = f"{ctx.display(json_path)} {image.where}"
        if path in claimed:
            ctx.error(json_path, f"{image.where}: the file is already listed by {claimed[path]}")
            continue
        claimed[path] = here
        labeled = parsed.is_labeled(image)
        yield ImportItem(
            path=path,
            relative_path=images.relative(path),
            boxes=list(parsed.boxes.get(image.id, [])) if labeled else None,
            declared_size=image.declared_size,
            source=ctx.display(json_path),
            dropped_annotations=parsed.dropped.get(image.id, 0) if labeled else 0,
        )


def _hold_back_failed_entries(
    json_path: Path,
    parsed: CocoFile,
    images: FileIndex,
    claimed: dict[Path, str],
    ctx: ImportContext,
) -> None:
    bases = _search_folders(json_path, images.root)
    for problem, file_name in parsed.image_errors:
        ctx.error(json_path, problem)
        path = _find(file_name, bases, images, json_path.parent) if file_name else None
        if path is not None:
            claimed.setdefault(path, f"{ctx.display(json_path)} (an entry with an error)")


def _search_folders(json_path: Path, root: Path) -> list[Path]:
    here = json_path.parent
    folders = [here, here / "images"]
    if here != root:
        folders += [here.parent, here.parent / "images"]
        split = _split_of(json_path)
        if split:
            folders += [here.parent / split, here.parent / "images" / split]
    folders += [root, root / "images"]
    unique = dict.fromkeys(f for f in folders if f.is_dir() and f.is_relative_to(root))
    return list(unique)


def _split_of(json_path: Path) -> str | None:
    """``instances_val2017.json`` -> ``val2017`` (the COCO devkit's image folder)."""
    stem = json_path.stem
    for prefix in ("instances_", "annotations_", "person_keypoints_"):
        if stem.lower().startswith(prefix) and len(stem) > len(prefix):
            return stem[len(prefix) :]
    return None


def _find(file_name: str, bases: list[Path], images: FileIndex, near: Path) -> Path | None:
    for base in bases:
        found = images.at(file_name, base)
        if found is not None:
            return found
    name = basename_of(file_name)
    if name in ("", ".", ".."):
        return None
    return images.closest(images.named(name), near)

"""Read class folders: ``<root>/<class>/<image>`` (layout rules in ``_layout``).

Files beside the class folders that are not images (LICENSE, README.md, a CSV) are reported as
skipped, never fatal. A class folder whose name is not a valid label is reported once and its
images are skipped. ``labels.txt`` (written by labelloop's export) declares the label order,
including labels no image uses; ``predictions.json`` is labelloop's side file and is not data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.domain import InvalidInput
from labelloop.domain.rules import validate_label_name
from labelloop.imaging import looks_like_image

from .._scan import scan_files
from ..base import ImportContext, ImportItem
from ._layout import (
    LABELS_FILE,
    PREDICTIONS_FILE,
    UNLABELED_DIR,
    class_roots,
    label_for,
)

__all__ = ["MAX_LABELS_FILE_BYTES", "read_imagenet"]

MAX_LABELS_FILE_BYTES = 1024 * 1024
_OWN_SIDE_FILES = (LABELS_FILE, PREDICTIONS_FILE)


def read_imagenet(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    roots = class_roots(root)
    _declare_from_labels_file(root, ctx)
    bad_folders = _declare_class_folders(roots, ctx)
    for path in scan_files(root, ctx):
        relative = path.relative_to(root)
        class_root = next((r for r in roots if path.is_relative_to(r) and r != root), root)
        inner = path.relative_to(class_root).parts
        if len(inner) == 1:  # directly in the root (or a split folder): no class
            if looks_like_image(path):
                yield ImportItem(path=path, relative_path=relative.as_posix())
            elif not (class_root == root and path.name in _OWN_SIDE_FILES):
                ctx.error(path, "not an image file (a stray file beside the class folders)")
            continue
        if not looks_like_image(path):
            ctx.error(path, "not an image file")
            continue
        folder = class_root / inner[0]
        if folder in bad_folders:
            continue  # reported once for the whole folder
        label = None if inner[0] == UNLABELED_DIR else label_for(inner[0])
        yield ImportItem(path=path, relative_path=relative.as_posix(), label=label)


def _declare_from_labels_file(root: Path, ctx: ImportContext) -> None:
    path = root / LABELS_FILE
    if not path.is_file() or path.is_symlink():
        return
    try:
        size = path.stat().st_size
        if size > MAX_LABELS_FILE_BYTES:
            ctx.warn(path, f"ignored: {size} bytes, over the {MAX_LABELS_FILE_BYTES} byte limit")
            return
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        ctx.warn(path, "ignored: not UTF-8 text")
        return
    except OSError as exc:
        ctx.warn(path, f"ignored: cannot read the file ({exc.strerror or exc})")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            ctx.declare_label(validate_label_name(line), path)
        except InvalidInput as exc:
            ctx.warn(path, f"line {number} ignored: {exc}")


def _declare_class_folders(roots: list[Path], ctx: ImportContext) -> set[Path]:
    """Declare every class folder's label (empty folders too); return the invalid folders."""
    bad: set[Path] = set()
    for class_root in roots:
        for folder in sorted(class_root.iterdir()):
            if folder.name.startswith(".") or folder.name == UNLABELED_DIR:
                continue
            if folder.is_symlink() or not folder.is_dir():
                continue  # links are reported by the walk; files are handled there
            try:
                ctx.declare_label(validate_label_name(label_for(folder.name)), folder)
            except InvalidInput as exc:
                ctx.error(folder, f"class folder skipped with its images: {exc}")
                bad.add(folder)
    return bad

"""Read a YOLO detection folder.

An image's label file is found the way ultralytics finds it: the last ``images`` folder in the
image's path becomes ``labels`` (or ``annotations``) and the suffix becomes ``.txt`` —
``images/train/a.jpg`` pairs with ``labels/train/a.txt``. Failing that, a ``.txt`` beside the
image (darknet). No label file: unlabeled; an empty one: labeled with no boxes.

Boxes are handed over in fractions of the image size (``ImportItem.normalized_boxes``): the
importer does not open images, the import service multiplies by the probed size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from labelloop.imaging import looks_like_image

from .._file_index import FileIndex
from ..base import ImportContext, ImportItem
from ._classes import LABEL_DIRS, ClassNames, is_class_file, read_class_names
from ._labels import parse_label_text

__all__ = ["IMAGE_DIR", "find_label_file", "read_yolo"]

IMAGE_DIR = "images"
MAX_LABEL_FILE_BYTES = 64 * 1024 * 1024


def read_yolo(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    classes = read_class_names(root, ctx)
    for index in sorted(classes.names):
        ctx.declare_label(classes.names[index], classes.source)
    files = FileIndex(root)
    used: set[Path] = set()
    for image in files.paths:
        if not looks_like_image(image):
            continue
        relative = files.relative(image)
        label_file = find_label_file(relative, files)
        if label_file is None:
            yield ImportItem(path=image, relative_path=relative)
            continue
        used.add(label_file)
        item = _labeled_item(image, relative, label_file, classes, ctx)
        if item is not None:
            yield item
    _report_orphans(files, used, ctx)


def find_label_file(image_relative: str, files: FileIndex) -> Path | None:
    parts = PurePosixPath(image_relative).parts
    label_name = PurePosixPath(parts[-1]).stem + ".txt"
    folders = [part.lower() for part in parts[:-1]]
    if IMAGE_DIR in folders:
        at = len(folders) - 1 - folders[::-1].index(IMAGE_DIR)
        for label_dir in LABEL_DIRS:
            candidate = "/".join([*parts[:at], label_dir, *parts[at + 1 : -1], label_name])
            found = files.at(candidate, files.root)
            if found is not None:
                return found
    beside = files.at("/".join([*parts[:-1], label_name]), files.root)
    return beside if beside is not None and not is_class_file(beside) else None


def _labeled_item(
    image: Path, relative: str, label_file: Path, classes: ClassNames, ctx: ImportContext
) -> ImportItem | None:
    text = _read_text(label_file, ctx)
    if text is None:
        return None
    parsed = parse_label_text(text, classes)
    for problem in parsed.problems:
        ctx.warn(label_file, problem)
    return ImportItem(
        path=image,
        relative_path=relative,
        normalized_boxes=parsed.boxes,
        source=ctx.display(label_file),
        dropped_annotations=parsed.dropped,
    )


def _read_text(label_file: Path, ctx: ImportContext) -> str | None:
    try:
        if label_file.stat().st_size > MAX_LABEL_FILE_BYTES:
            ctx.error(label_file, f"over {MAX_LABEL_FILE_BYTES // 2**20} MiB; image skipped")
            return None
        return label_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.error(label_file, f"cannot read the label file ({exc}); image skipped")
        return None


def _report_orphans(files: FileIndex, used: set[Path], ctx: ImportContext) -> None:
    """Label files in a labels folder that no image uses: usually a missing or renamed image."""
    for path in files.paths:
        if path in used or path.suffix.lower() != ".txt" or is_class_file(path):
            continue
        folders = {part.lower() for part in path.relative_to(files.root).parts[:-1]}
        if folders & set(LABEL_DIRS):
            ctx.warn(path, "no image for this label file; ignored")

"""Read a Pascal VOC folder: XML annotation files and the images they name.

Accepted layouts (any depth, splits in subfolders included):
``Annotations/`` + ``JPEGImages/`` (the VOC devkit), ``annotations/`` + ``images/``, or each XML
beside its image. An XML's image is found by its ``<filename>``, then the last part of its
``<path>`` (often written on another machine), then by the XML's own stem with any image
suffix; among several files of that name the one nearest the XML wins. Images no XML claims are
imported unlabeled; an XML without objects makes its image labeled with no boxes.

A ``labels.txt`` at the root (one name a line, as labelloop exports) declares the label order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.domain import InvalidInput
from labelloop.domain.rules import validate_label_name
from labelloop.imaging import looks_like_image

from .._file_index import FileIndex, basename_of
from .._xml import XmlProblem, read_xml
from ..base import ImportContext, ImportItem, walk_files
from ._schema import ROOT_TAG, VocAnnotation, is_prediction, parse_annotation

__all__ = ["LABELS_FILE", "SEGMENTATION_DIRS", "read_voc"]

LABELS_FILE = "labels.txt"
# The VOC devkit keeps PNG masks here; they are not images to label.
SEGMENTATION_DIRS = ("SegmentationClass", "SegmentationObject", "SegmentationClassAug")
MAX_LABELS_FILE_BYTES = 1024 * 1024


def read_voc(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    _declare_labels(root, ctx)
    images = FileIndex(root, accept=looks_like_image, skip_dirs=SEGMENTATION_DIRS)
    claimed: dict[Path, str] = {}  # image -> the XML that annotated it (or failed to)
    for xml_path in walk_files(root):
        if xml_path.suffix.lower() != ".xml":
            continue
        item = _read_one(xml_path, images, claimed, ctx)
        if item is not None:
            yield item
    for image in images.paths:
        if image not in claimed:
            yield ImportItem(path=image, relative_path=images.relative(image))


def _read_one(
    xml_path: Path, images: FileIndex, claimed: dict[Path, str], ctx: ImportContext
) -> ImportItem | None:
    shown = ctx.display(xml_path)
    try:
        root = read_xml(xml_path)
    except XmlProblem as exc:
        # The image this XML belonged to is skipped too: importing it unlabeled would
        # silently lose its boxes; the person fixes the file and imports again.
        image = images.closest(images.with_stem(xml_path.stem), xml_path.parent)
        skipped = ""
        if image is not None and image not in claimed:
            claimed[image] = shown
            skipped = f"; image {images.relative(image)} not imported"
        ctx.error(xml_path, f"{exc}{skipped}")
        return None
    if root.tag != ROOT_TAG:
        ctx.warn(xml_path, f"skipped: root element <{root.tag}> is not a Pascal VOC <annotation>")
        return None
    if is_prediction(root):  # a model's boxes written by an export, never an annotation
        return None
    annotation = parse_annotation(root)
    for problem in annotation.problems:
        ctx.warn(xml_path, problem)
    image = _find_image(annotation, xml_path, images)
    if image is None:
        ctx.error(xml_path, f"image not found: {_looked_for(annotation, xml_path)}")
        return None
    if image in claimed:
        ctx.error(
            xml_path,
            f"image {images.relative(image)} is already annotated by {claimed[image]}; "
            "this file is ignored",
        )
        return None
    claimed[image] = shown
    return ImportItem(
        path=image,
        relative_path=images.relative(image),
        boxes=annotation.boxes,
        declared_size=annotation.size,
        source=shown,
        dropped_annotations=annotation.dropped,
    )


def _find_image(annotation: VocAnnotation, xml_path: Path, images: FileIndex) -> Path | None:
    for name in _names_to_try(annotation):
        candidates = images.named(name) or (
            images.with_stem(name) if not looks_like_image(Path(name)) else []
        )
        found = images.closest(candidates, xml_path.parent)
        if found is not None:
            return found
    return images.closest(images.with_stem(xml_path.stem), xml_path.parent)


def _names_to_try(annotation: VocAnnotation) -> list[str]:
    names = []
    for reference in (annotation.filename, annotation.path):
        if reference:
            name = basename_of(reference)
            if name and name not in names:
                names.append(name)
    return names


def _looked_for(annotation: VocAnnotation, xml_path: Path) -> str:
    tried = [f"{name!r}" for name in _names_to_try(annotation)]
    tried.append(f"{xml_path.stem}.<image suffix>")
    return "looked for " + ", ".join(tried)


def _declare_labels(root: Path, ctx: ImportContext) -> None:
    path = root / LABELS_FILE
    if not path.is_file() or path.is_symlink():
        return
    if path.stat().st_size > MAX_LABELS_FILE_BYTES:
        ctx.warn(path, f"over {MAX_LABELS_FILE_BYTES // 1024} KiB; label order not read")
        return
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        ctx.warn(path, f"cannot read the label list: {exc}")
        return
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            ctx.declare_label(validate_label_name(line), path)
        except InvalidInput as exc:
            ctx.warn(path, f"line {number}: {exc}")

"""Read ModelArts manifests: every ``*.manifest`` file under the root, one JSON object a line.

A line's ``source`` is found relative to the manifest, then relative to the root, then by its
file name anywhere under the root (``s3://`` and ``obs://`` URIs always by file name), so a
dataset downloaded from OBS imports as it is. The manifest defines the dataset: images under the
root that no line lists are not imported.

Only annotations ``annotated-by: human`` (the default) are read: a classification ``name`` is
the label, a detection annotation's boxes come from the Pascal VOC file at ``annotation-loc``.
Annotations by a model (``modelarts/active-learning``, ``labelloop/...``) are predictions and
are ignored, as are the sample's ``usage`` and hard-example fields: an import brings in what
people confirmed. Fields an annotation may carry besides (``confidence``, ``creation-time``,
``property``, ``hard`` ...) are accepted and not needed; a box's ``<confidence>`` or
``<score>`` in the VOC file is read as its score. A line whose annotation cannot be read is
skipped whole, with its line number.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from labelloop.domain import Box, InvalidInput
from labelloop.domain.rules import validate_label_name
from labelloop.imaging import looks_like_image

from .._file_index import FileIndex, basename_of
from .._xml import XmlProblem, read_xml
from ..base import MAX_ANNOTATION_FILE_BYTES, ImportContext, ImportItem
from ..voc import ROOT_TAG, parse_annotation
from . import _fields as F

__all__ = ["read_manifests"]


@dataclass
class _Human:
    """What people said about one sample."""

    label: str | None = None
    boxes: list[Box] | None = None
    size: tuple[int, int] | None = None
    dropped: int = 0  # objects of its box files that gave no box


def read_manifests(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    files = FileIndex(root)
    manifests = [path for path in files.paths if path.suffix.lower() == F.MANIFEST_SUFFIX]
    if not manifests:
        ctx.error(root, "no *.manifest file found")
        return
    listed: dict[Path, str] = {}  # image -> "manifest line N" that listed it first
    for manifest in manifests:
        for number, record in _records(manifest, ctx):
            item = _item(record, manifest, number, files, listed, ctx)
            if item is not None:
                yield item


def _records(manifest: Path, ctx: ImportContext) -> Iterator[tuple[int, dict]]:
    size = manifest.stat().st_size
    if size > MAX_ANNOTATION_FILE_BYTES:
        ctx.error(manifest, f"the file is over {MAX_ANNOTATION_FILE_BYTES // 2**20} MiB")
        return
    with manifest.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8").strip()
            except UnicodeDecodeError:
                ctx.error(manifest, f"line {number}: not UTF-8 text; line skipped")
                continue
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                ctx.error(manifest, f"line {number}: not valid JSON ({exc.msg}); line skipped")
                continue
            except RecursionError:
                ctx.error(manifest, f"line {number}: JSON nested too deeply; line skipped")
                continue
            if not isinstance(record, dict):
                ctx.error(manifest, f"line {number}: not a JSON object; line skipped")
                continue
            yield number, record


def _item(
    record: dict,
    manifest: Path,
    number: int,
    files: FileIndex,
    listed: dict[Path, str],
    ctx: ImportContext,
) -> ImportItem | None:
    line = _Line(manifest, number, files, ctx)
    source = record.get(F.SOURCE)
    if not isinstance(source, str) or not source.strip():
        line.fail("no 'source' (the image path)")
        return None
    image = _locate(source, manifest.parent, files, looks_like_image)
    if image is None:
        line.fail(f"image {source!r} not found under the import folder")
        return None
    if image in listed:
        line.fail(f"image {files.relative(image)} is already listed on {listed[image]}")
        return None
    human = line.read_human(record.get(F.ANNOTATION))
    if human is None:
        return None
    listed[image] = f"{ctx.display(manifest)} line {number}"
    return ImportItem(
        path=image,
        relative_path=files.relative(image),
        label=human.label,
        boxes=human.boxes,
        declared_size=human.size,
        source=listed[image],
        dropped_annotations=human.dropped,
    )


class _Line:
    """Reads the human annotations of one manifest line; every message names the line."""

    def __init__(self, manifest: Path, number: int, files: FileIndex, ctx: ImportContext):
        self.manifest = manifest
        self.number = number
        self.files = files
        self.ctx = ctx

    def fail(self, problem: str) -> None:
        self.ctx.error(self.manifest, f"line {self.number}: {problem}; line skipped")

    def warn(self, problem: str) -> None:
        self.ctx.warn(self.manifest, f"line {self.number}: {problem}")

    def read_human(self, annotations: object) -> _Human | None:
        """What people confirmed; None (after reporting) when an annotation is unreadable."""
        human = _Human()
        if annotations is None:
            return human
        if not isinstance(annotations, list):
            self.fail("'annotation' is not a list")
            return None
        for position, annotation in enumerate(annotations, start=1):
            if not isinstance(annotation, dict):
                self.fail(f"annotation {position} is not a JSON object")
                return None
            if annotation.get(F.ANNOTATED_BY, F.HUMAN) != F.HUMAN:
                continue  # a model's proposal: not what a person confirmed
            kind = annotation.get(F.TYPE)
            if kind == F.CLASSIFICATION:
                read = self._read_label(annotation, position, human)
            elif kind == F.DETECTION:
                read = self._read_boxes(annotation, position, human)
            else:
                self.warn(f"annotation {position}: type {kind!r} is not supported; ignored")
                read = True
            if not read:
                return None
        return human

    def _read_label(self, annotation: dict, position: int, human: _Human) -> bool:
        try:
            name = validate_label_name(annotation.get(F.NAME))
        except InvalidInput as exc:
            self.fail(f"annotation {position}: {exc}")
            return False
        if human.label is None:
            human.label = name
        elif name != human.label:
            self.warn(
                f"annotation {position}: second label {name!r} ignored; labelloop keeps one "
                f"label an image ({human.label!r})"
            )
        return True

    def _read_boxes(self, annotation: dict, position: int, human: _Human) -> bool:
        where = f"annotation {position}"
        kind = str(annotation.get(F.ANNOTATION_FORMAT, F.PASCAL_VOC))
        if kind.strip().upper() != F.PASCAL_VOC:
            self.fail(f"{where}: annotation-format {kind!r} is not supported, only {F.PASCAL_VOC}")
            return False
        location = annotation.get(F.ANNOTATION_LOC)
        if not isinstance(location, str) or not location.strip():
            self.fail(f"{where}: no 'annotation-loc' naming the Pascal VOC file of its boxes")
            return False
        xml_path = _locate(location, self.manifest.parent, self.files, _is_xml)
        if xml_path is None:
            self.fail(f"{where}: box file {location!r} not found under the import folder")
            return False
        shown = self.ctx.display(xml_path)
        try:
            root = read_xml(xml_path)
        except XmlProblem as exc:
            self.fail(f"{where}: {shown}: {exc}")
            return False
        if root.tag != ROOT_TAG:
            self.fail(f"{where}: {shown} is not a Pascal VOC file (root <{root.tag}>)")
            return False
        parsed = parse_annotation(root)
        for problem in parsed.problems:
            self.ctx.warn(xml_path, problem)
        human.boxes = (human.boxes or []) + parsed.boxes
        human.dropped += parsed.dropped
        human.size = human.size or parsed.size
        return True


def _is_xml(path: Path) -> bool:
    return path.suffix.lower() == ".xml"


def _locate(
    reference: str, manifest_dir: Path, files: FileIndex, accept: Callable[[Path], bool]
) -> Path | None:
    for base in (manifest_dir, files.root):
        found = files.at(reference, base)
        if found is not None and accept(found):
            return found
    candidates = [path for path in files.named(basename_of(reference)) if accept(path)]
    return files.closest(candidates, manifest_dir)

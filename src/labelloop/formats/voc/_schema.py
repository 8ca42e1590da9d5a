"""One Pascal VOC annotation element <-> boxes, in both directions.

Coordinate convention (read and write alike): ``xmin, ymin`` is the box's top-left corner and
``xmax, ymax`` its bottom-right corner in continuous pixel coordinates, so ``x = xmin`` and
``w = xmax - xmin``. This is what labelImg, CVAT, datumaro and torchvision use. The original
VOC devkit counts pixels from 1 with inclusive ends, which reads here shifted by at most one
pixel; treating both alike keeps a labelloop round trip exact and is well inside what a person
draws. Zero-width boxes (``xmax == xmin``) are reported and dropped, not widened to one pixel.

Predictions are written as a separate VOC file (``Predictions/<stem>.xml``) whose objects carry
a ``<score>`` (and, in a ModelArts export, the same value as ``<confidence>``; either is read
back as the box's score) and whose root holds a ``<labelloop_prediction>`` element with the
hard-example flags; ``is_prediction`` recognises such a file so that no importer takes it for
annotations.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field

from labelloop.domain import Box, InvalidInput
from labelloop.domain.rules import validate_label_name

from .._exporting import format_number
from .._xml import child_text
from ..base import ExportPrediction

__all__ = [
    "CONFIDENCE_TAG",
    "PREDICTION_TAG",
    "ROOT_TAG",
    "SCORE_TAG",
    "VocAnnotation",
    "annotation_element",
    "is_prediction",
    "parse_annotation",
    "prediction_element",
]

ROOT_TAG = "annotation"
PREDICTION_TAG = "labelloop_prediction"
SCORE_TAG = "score"  # a box's score, as labelloop writes it
CONFIDENCE_TAG = "confidence"  # the same, as ModelArts writes it in its VOC files
SCORE_TAGS = (SCORE_TAG, CONFIDENCE_TAG)
_CORNERS = ("xmin", "ymin", "xmax", "ymax")


@dataclass
class VocAnnotation:
    """What one VOC file says; ``problems`` are per-box messages (each box dropped)."""

    filename: str | None
    path: str | None
    size: tuple[int, int] | None
    boxes: list[Box] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dropped: int = 0  # <object> elements that gave no box


def is_prediction(root: ET.Element) -> bool:
    return root.find(PREDICTION_TAG) is not None


def parse_annotation(root: ET.Element) -> VocAnnotation:
    """Read an ``<annotation>`` element; only its direct ``<object>`` children are boxes."""
    annotation = VocAnnotation(
        filename=child_text(root, "filename"),
        path=child_text(root, "path"),
        size=None,
    )
    size = root.find("size")
    if size is not None:
        annotation.size = _parse_size(size, annotation.problems)
    for number, element in enumerate(root.findall("object"), start=1):
        box = _parse_object(element, number, annotation.problems)
        if box is None:
            annotation.dropped += 1
        else:
            annotation.boxes.append(box)
    return annotation


def _parse_size(size: ET.Element, problems: list[str]) -> tuple[int, int] | None:
    width, height = child_text(size, "width"), child_text(size, "height")
    if width is None or height is None:
        return None
    try:
        parsed = (int(float(width)), int(float(height)))
    except ValueError:
        problems.append(f"<size> {width!r} x {height!r} is not a number; size ignored")
        return None
    # labelImg writes 0 x 0 when it could not read the image: that is "unknown", not an error.
    return parsed if parsed[0] > 0 and parsed[1] > 0 else None


def _parse_object(element: ET.Element, number: int, problems: list[str]) -> Box | None:
    name = child_text(element, "name")
    where = f"object {number}" + (f" ({name})" if name else "")
    try:
        label = validate_label_name(name or "")
    except InvalidInput as exc:
        problems.append(f"{where}: {exc}; box dropped")
        return None
    bndbox = element.find("bndbox")
    if bndbox is None:
        problems.append(f"{where}: no <bndbox>; box dropped")
        return None
    corners: dict[str, float] = {}
    for key in _CORNERS:
        text = child_text(bndbox, key)
        if text is None:
            problems.append(f"{where}: <{key}> is missing; box dropped")
            return None
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            problems.append(f"{where}: <{key}> {text!r} is not a number; box dropped")
            return None
        corners[key] = value
    xmin, ymin, xmax, ymax = (corners[key] for key in _CORNERS)
    if xmax <= xmin or ymax <= ymin:
        shown = ", ".join(f"{key} {format_number(corners[key])}" for key in _CORNERS)
        kind = "inverted" if xmax < xmin or ymax < ymin else "zero-sized"
        problems.append(f"{where}: {kind} box ({shown}); box dropped")
        return None
    score = _score(element, where, problems)
    return Box(label, xmin, ymin, xmax - xmin, ymax - ymin, score)


def _score(element: ET.Element, where: str, problems: list[str]) -> float | None:
    """A model's score for the object: ``<score>`` (labelloop) or ``<confidence>`` (ModelArts)."""
    for tag in SCORE_TAGS:
        text = child_text(element, tag)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and 0 <= value <= 1:
            return value
        problems.append(f"{where}: <{tag}> {text!r} is not a score between 0 and 1; ignored")
    return None


def annotation_element(
    file_name: str,
    width: int,
    height: int,
    boxes: Iterable[Box],
    *,
    folder: str = "JPEGImages",
    score_tags: tuple[str, ...] = (SCORE_TAG,),
) -> ET.Element:
    """A VOC ``<annotation>`` for ``boxes``; a box's score is written when it has one.

    ``score_tags``: the elements the score is written in (ModelArts reads ``<confidence>``).
    """
    root = ET.Element(ROOT_TAG)
    ET.SubElement(root, "folder").text = folder
    ET.SubElement(root, "filename").text = file_name
    size = ET.SubElement(root, "size")
    ET.SubElement(size, "width").text = str(int(width))
    ET.SubElement(size, "height").text = str(int(height))
    ET.SubElement(size, "depth").text = "3"
    ET.SubElement(root, "segmented").text = "0"
    for box in boxes:
        element = ET.SubElement(root, "object")
        ET.SubElement(element, "name").text = box.label
        ET.SubElement(element, "pose").text = "Unspecified"
        ET.SubElement(element, "truncated").text = "0"
        ET.SubElement(element, "difficult").text = "0"
        if box.score is not None:
            for tag in score_tags:
                ET.SubElement(element, tag).text = format_number(box.score)
        bndbox = ET.SubElement(element, "bndbox")
        for key, value in zip(_CORNERS, (box.x, box.y, box.x2, box.y2), strict=True):
            ET.SubElement(bndbox, key).text = format_number(value)
    return root


def prediction_element(
    file_name: str,
    width: int,
    height: int,
    prediction: ExportPrediction,
    *,
    folder: str,
    score_tags: tuple[str, ...] = (SCORE_TAG,),
) -> ET.Element:
    """A VOC file of a model's boxes (with scores) plus a block of hard-example flags."""
    root = annotation_element(
        file_name, width, height, prediction.boxes, folder=folder, score_tags=score_tags
    )
    block = ET.SubElement(root, PREDICTION_TAG)
    ET.SubElement(block, "annotated_by").text = prediction.annotated_by
    if prediction.label is not None:
        ET.SubElement(block, "label").text = prediction.label
    if prediction.score is not None:
        ET.SubElement(block, "score").text = format_number(prediction.score)
    ET.SubElement(block, "hard").text = "1" if prediction.hard else "0"
    if prediction.hard_type is not None:
        ET.SubElement(block, "hard_type").text = str(prediction.hard_type)
    ET.SubElement(block, "hard_coefficient").text = format_number(prediction.hard_coefficient)
    for reason in prediction.hard_reasons:
        ET.SubElement(block, "hard_reason", code=str(reason.code)).text = reason.text
    if prediction.model_version is not None:
        ET.SubElement(block, "model_version").text = prediction.model_version
    if prediction.job_id is not None:
        ET.SubElement(block, "job_id").text = str(prediction.job_id)
    return root

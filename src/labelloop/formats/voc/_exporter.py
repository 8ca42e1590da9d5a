"""Write a Pascal VOC folder.

    JPEGImages/<name>              every image
    Annotations/<stem>.xml         labeled images (no <object> when labeled with no boxes)
    Predictions/<stem>.xml         images to confirm: the model's boxes with <score>, and a
                                   <labelloop_prediction> block (hard, hard_type, ...)
    ImageSets/Main/trainval.txt    stems of the labeled images (devkit readers need a list)
    labels.txt                     the dataset's labels in order, one a line

Unlabeled and to-confirm images have no file in Annotations/, so any VOC reader sees them as
unlabeled rather than as images with no objects.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from .._exporting import claim_image_name, pending_prediction
from .._xml import write_xml
from ..base import DatasetInfo, ExportItem, ExportReport, UniqueNames, copy_image
from ._importer import LABELS_FILE
from ._schema import annotation_element, prediction_element

__all__ = ["write_voc"]

IMAGES_DIR = "JPEGImages"
ANNOTATIONS_DIR = "Annotations"
PREDICTIONS_DIR = "Predictions"
IMAGE_SET = "ImageSets/Main/trainval.txt"


def write_voc(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    names = UniqueNames()
    labeled_stems: list[str] = []
    for item in items:
        stem, image_name = claim_image_name(names, IMAGES_DIR, item)
        copy_image(item.file, out / IMAGES_DIR / image_name)
        report.images += 1
        if item.labeled:
            element = annotation_element(image_name, item.width, item.height, item.boxes or ())
            report.files.append(_write(out, f"{ANNOTATIONS_DIR}/{stem}.xml", element))
            labeled_stems.append(stem)
        prediction = pending_prediction(item)
        if prediction is not None:
            element = prediction_element(
                image_name, item.width, item.height, prediction, folder=IMAGES_DIR
            )
            report.files.append(_write(out, f"{PREDICTIONS_DIR}/{stem}.xml", element))
    _write_lines(out / IMAGE_SET, labeled_stems)
    _write_lines(out / LABELS_FILE, dataset.labels)
    report.files += [IMAGE_SET, LABELS_FILE]
    return report


def _write(out: Path, relative: str, element: ET.Element) -> str:
    write_xml(element, out / relative)
    return relative


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")

"""Write a ModelArts manifest folder.

    output.manifest          one JSON line an image; ``source`` relative to this file
    images/<name>            every image
    Annotations/<stem>.xml   detection, labeled: the boxes people confirmed (Pascal VOC)
    Predictions/<stem>.xml   detection, to confirm: the model's boxes with <score>

Labeled images carry ``annotated-by: "human"`` annotations and ``usage: "TRAIN"``. Images to
confirm carry the sample's ``hard``, ``hard-coefficient``, ``hard-reasons`` (ModelArts reason
codes) and, for detection, ``hard-type``, plus the model's annotation with its ``annotated-by``
(``labelloop/active-learning`` unless the prediction says otherwise), ``confidence``, ``hard``,
``hard-coefficient`` and ``creation-time`` (when the prediction's time is known).
``hard`` is written "true"/"false" as ModelArts writes it.

A detection prediction's ``confidence`` is the image's score: the prediction's own, else its
highest box score (what labelloop's detection jobs store as the image score). Each box's score
is in the VOC file as ``<confidence>`` (ModelArts' field) and ``<score>`` (what other labelloop
readers use).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from labelloop.domain import TaskType

from .._exporting import claim_image_name, pending_prediction
from .._xml import write_xml
from ..base import DatasetInfo, ExportItem, ExportPrediction, ExportReport, UniqueNames, copy_image
from ..voc import CONFIDENCE_TAG, SCORE_TAG, annotation_element, prediction_element
from . import _fields as F

__all__ = ["write_manifest"]

IMAGES_DIR = "images"
ANNOTATIONS_DIR = "Annotations"
PREDICTIONS_DIR = "Predictions"


def write_manifest(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    names = UniqueNames()
    detection = dataset.task_type == TaskType.DETECTION
    with (out / F.OUTPUT_MANIFEST).open("w", encoding="utf-8") as manifest:
        for item in items:
            stem, image_name = claim_image_name(names, IMAGES_DIR, item)
            copy_image(item.file, out / IMAGES_DIR / image_name)
            report.images += 1
            writer = _SampleWriter(out, item, stem, image_name, report)
            record = writer.detection_record() if detection else writer.classification_record()
            manifest.write(json.dumps(record, ensure_ascii=False) + "\n")
    report.files.insert(0, F.OUTPUT_MANIFEST)
    return report


class _SampleWriter:
    """Builds one manifest line (and its VOC files, for detection)."""

    def __init__(
        self, out: Path, item: ExportItem, stem: str, image_name: str, report: ExportReport
    ) -> None:
        self.out = out
        self.item = item
        self.stem = stem
        self.image_name = image_name
        self.report = report
        self.prediction = pending_prediction(item)

    def classification_record(self) -> dict:
        record = self._sample()
        annotations = []
        if self.item.labeled and self.item.label is not None:
            annotations.append(self._human(F.CLASSIFICATION, {F.NAME: self.item.label}))
        prediction = self.prediction
        if prediction is not None and prediction.label is not None:
            fields: dict = {F.NAME: prediction.label}
            annotations.append(_model(prediction, F.CLASSIFICATION, fields, prediction.score))
        record[F.ANNOTATION] = annotations
        return record

    def detection_record(self) -> dict:
        record = self._sample()
        if self.prediction is not None:
            record[F.HARD_TYPE] = str(self.prediction.hard_type or "none")
        annotations = []
        if self.item.labeled:
            element = annotation_element(
                self.image_name, self.item.width, self.item.height, self.item.boxes or ()
            )
            location = self._write_xml(ANNOTATIONS_DIR, element)
            annotations.append(self._human(F.DETECTION, _box_file(location)))
        prediction = self.prediction
        if prediction is not None:
            element = prediction_element(
                self.image_name,
                self.item.width,
                self.item.height,
                prediction,
                folder=IMAGES_DIR,
                score_tags=(SCORE_TAG, CONFIDENCE_TAG),
            )
            location = self._write_xml(PREDICTIONS_DIR, element)
            annotations.append(
                _model(prediction, F.DETECTION, _box_file(location), _image_score(prediction))
            )
        record[F.ANNOTATION] = annotations
        return record

    def _sample(self) -> dict:
        record: dict = {F.SOURCE: f"{IMAGES_DIR}/{self.image_name}"}
        if self.item.sha256:
            record[F.ID] = self.item.sha256
        record[F.USAGE] = F.USAGE_TRAIN if self.item.labeled else F.USAGE_INFERENCE
        if self.prediction is not None:
            record.update(_hard_fields(self.prediction))
            record[F.HARD_REASONS] = [reason.code for reason in self.prediction.hard_reasons]
        return record

    def _human(self, kind: str, fields: dict) -> dict:
        annotation = {F.TYPE: kind, **fields, F.ANNOTATED_BY: F.HUMAN}
        created = _modelarts_time(self.item.annotated_at)
        if created is not None:
            annotation[F.CREATION_TIME] = created
        return annotation

    def _write_xml(self, folder: str, element: ET.Element) -> str:
        relative = f"{folder}/{self.stem}.xml"
        write_xml(element, self.out / relative)
        self.report.files.append(relative)
        return relative


def _model(prediction: ExportPrediction, kind: str, fields: dict, confidence: float | None) -> dict:
    annotation = {F.TYPE: kind, **fields}
    if confidence is not None:
        annotation[F.CONFIDENCE] = confidence
    annotation[F.ANNOTATED_BY] = prediction.annotated_by
    annotation.update(_hard_fields(prediction))
    created = _modelarts_time(prediction.created_at)
    if created is not None:
        annotation[F.CREATION_TIME] = created
    return annotation


def _image_score(prediction: ExportPrediction) -> float | None:
    if prediction.score is not None:
        return prediction.score
    scores = [box.score for box in prediction.boxes if box.score is not None]
    return max(scores) if scores else None


def _box_file(location: str) -> dict:
    return {F.ANNOTATION_LOC: location, F.ANNOTATION_FORMAT: F.PASCAL_VOC}


def _hard_fields(prediction: ExportPrediction) -> dict:
    return {
        F.HARD: "true" if prediction.hard else "false",
        F.HARD_COEFFICIENT: prediction.hard_coefficient,
    }


def _modelarts_time(value: str | None) -> str | None:
    """ModelArts writes ``2019-01-23 11:30:30``; a value that is not ISO passes unchanged."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value

"""Write ``annotations.json`` + ``images/`` (loads in pycocotools).

Ids start at 1 (images, annotations, categories); categories follow the dataset's label order.
Confirmed boxes are plain COCO annotations (``bbox``, ``area``, ``iscrowd: 0``). Boxes a model
predicted for an image waiting for confirmation are annotations too, marked
``"labelloop_predicted": true`` and carrying their ``score``, as COCO results files do. Each
image entry carries ``labelloop_state`` and the prediction's ``hard``, ``hard_type``,
``hard_coefficient`` and ``hard_reasons``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from labelloop.domain import Box

from .._exporting import claim_image_name, pending_prediction
from ..base import DatasetInfo, ExportItem, ExportReport, UniqueNames, copy_image
from ._schema import PREDICTED_FIELD, STATE_FIELD

__all__ = ["ANNOTATIONS_FILE", "IMAGES_DIR", "write_coco"]

ANNOTATIONS_FILE = "annotations.json"
IMAGES_DIR = "images"


class _Categories:
    """Label -> category id, in the dataset's order; labels only boxes use are appended."""

    def __init__(self, labels: Iterable[str]) -> None:
        self.ids: dict[str, int] = {}
        for label in labels:
            self.id_of(label)

    def id_of(self, label: str) -> int:
        return self.ids.setdefault(label, len(self.ids) + 1)

    def entries(self) -> list[dict]:
        return [{"id": i, "name": name, "supercategory": ""} for name, i in self.ids.items()]


def write_coco(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    names = UniqueNames()
    categories = _Categories(dataset.labels)
    images: list[dict] = []
    annotations: list[dict] = []
    for image_id, item in enumerate(items, start=1):
        _, file_name = claim_image_name(names, IMAGES_DIR, item)
        copy_image(item.file, out / IMAGES_DIR / file_name)
        images.append(_image_entry(image_id, file_name, item))
        if item.labeled:
            for box in item.boxes or ():
                annotations.append(_annotation(len(annotations) + 1, image_id, box, categories))
        prediction = pending_prediction(item)
        for box in prediction.boxes if prediction else ():
            entry = _annotation(len(annotations) + 1, image_id, box, categories)
            entry["score"] = box.score
            entry[PREDICTED_FIELD] = True
            annotations.append(entry)
        report.images += 1
    document = {
        "info": {
            "description": dataset.name,
            "version": "1.0",
            "contributor": "labelloop",
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": categories.entries(),
    }
    text = json.dumps(document, ensure_ascii=False, indent=1)
    (out / ANNOTATIONS_FILE).write_text(text + "\n", encoding="utf-8")
    report.files.append(ANNOTATIONS_FILE)
    return report


def _image_entry(image_id: int, file_name: str, item: ExportItem) -> dict:
    prediction = pending_prediction(item)
    entry = {
        "id": image_id,
        "file_name": file_name,
        "width": item.width,
        "height": item.height,
        STATE_FIELD: item.state,
        "hard": bool(prediction and prediction.hard),
        "hard_type": prediction.hard_type.value if prediction and prediction.hard_type else None,
        "hard_coefficient": prediction.hard_coefficient if prediction else 0.0,
        "hard_reasons": [
            {"code": r.code, "text": r.text}
            for r in (prediction.hard_reasons if prediction else ())
        ],
        "labelloop_original_path": item.original_path,
    }
    if prediction is not None:
        entry["model_version"] = prediction.model_version
    if item.labeled and item.annotated_at:
        entry["labelloop_annotated_at"] = item.annotated_at
    return entry


def _annotation(annotation_id: int, image_id: int, box: Box, categories: _Categories) -> dict:
    return {
        "id": annotation_id,
        "image_id": image_id,
        "category_id": categories.id_of(box.label),
        "bbox": [box.x, box.y, box.w, box.h],
        "area": box.w * box.h,
        "iscrowd": 0,
    }

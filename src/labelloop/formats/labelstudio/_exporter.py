"""Write ``result.json`` (a list of Label Studio tasks), ``images/`` and ``label_config.xml``.

``data.image`` is the relative path ``images/<name>``. A labeled image has one annotation
(``choices`` or ``rectanglelabels`` in percent of the image); an image waiting for confirmation
has one prediction with ``model_version`` and ``score`` (and a score on each result). What Label
Studio has no field for (the image's state, the hard flags, the original path) goes in the
task's ``meta.labelloop``, which Label Studio keeps and shows. ``label_config.xml`` is the
labeling config for a Label Studio project that imports the tasks.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from labelloop.domain import Box, TaskType

from .._exporting import claim_image_name, pending_prediction
from .._xml import write_xml
from ..base import (
    DatasetInfo,
    ExportItem,
    ExportPrediction,
    ExportReport,
    UniqueNames,
    copy_image,
)
from ._importer import CONFIG_FILE, META_KEY
from ._results import CHOICES, RECTANGLES

__all__ = ["IMAGES_DIR", "TASKS_FILE", "write_labelstudio"]

TASKS_FILE = "result.json"
IMAGES_DIR = "images"
# Names the labeling config gives its tags; results refer to them.
_IMAGE_TAG = "image"
_CHOICES_TAG = "choice"
_RECTANGLES_TAG = "label"


def write_labelstudio(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    detection = dataset.task_type is TaskType.DETECTION
    names = UniqueNames()
    tasks = []
    for task_id, item in enumerate(items, start=1):
        _, file_name = claim_image_name(names, IMAGES_DIR, item)
        copy_image(item.file, out / IMAGES_DIR / file_name)
        tasks.append(_task(task_id, f"{IMAGES_DIR}/{file_name}", item, detection))
        report.images += 1
    text = json.dumps(tasks, ensure_ascii=False, indent=1)
    (out / TASKS_FILE).write_text(text + "\n", encoding="utf-8")
    write_xml(_label_config(dataset.labels, detection), out / CONFIG_FILE)
    report.files += [TASKS_FILE, CONFIG_FILE]
    return report


def _task(task_id: int, image: str, item: ExportItem, detection: bool) -> dict:
    prediction = pending_prediction(item)
    task: dict = {
        "id": task_id,
        "data": {"image": image},
        "annotations": [],
        "predictions": [],
        "meta": {META_KEY: _meta(item, prediction, detection)},
    }
    if item.labeled:
        results = (
            [_rectangle(box, item, f"{task_id}-{n}") for n, box in enumerate(item.boxes or ())]
            if detection
            else _choices(item.label, f"{task_id}-0")
        )
        task["annotations"].append(
            {
                "id": task_id,
                "result": results,
                "was_cancelled": False,
                "ground_truth": False,
                "created_at": item.annotated_at,
                "updated_at": item.annotated_at,
            }
        )
    if prediction is not None:
        task["predictions"].append(_prediction(task_id, prediction, item, detection))
    return task


def _prediction(task_id: int, prediction: ExportPrediction, item: ExportItem, detection: bool):
    if detection:
        results = [
            _rectangle(box, item, f"{task_id}-p{n}", box.score)
            for n, box in enumerate(prediction.boxes)
        ]
        scores = [box.score for box in prediction.boxes if box.score is not None]
        score = prediction.score if prediction.score is not None else _mean(scores)
    else:
        results = _choices(prediction.label, f"{task_id}-p0", prediction.score)
        score = prediction.score
    return {"model_version": prediction.model_version, "score": score, "result": results}


def _meta(item: ExportItem, prediction: ExportPrediction | None, detection: bool) -> dict:
    meta: dict = {
        "state": item.state,
        "task_type": "detection" if detection else "classification",
        "original_path": item.original_path,
    }
    if prediction is not None:
        meta |= {
            "hard": prediction.hard,
            "hard_type": prediction.hard_type.value if prediction.hard_type else None,
            "hard_coefficient": prediction.hard_coefficient,
            "hard_reasons": [{"code": r.code, "text": r.text} for r in prediction.hard_reasons],
            "job_id": prediction.job_id,
            "annotated_by": prediction.annotated_by,
        }
    return meta


def _choices(label: str | None, result_id: str, score: float | None = None) -> list[dict]:
    if label is None:
        return []
    result = {
        "id": result_id,
        "type": CHOICES,
        "from_name": _CHOICES_TAG,
        "to_name": _IMAGE_TAG,
        "value": {"choices": [label]},
    }
    if score is not None:
        result["score"] = score
    return [result]


def _rectangle(box: Box, item: ExportItem, result_id: str, score: float | None = None) -> dict:
    result = {
        "id": result_id,
        "type": RECTANGLES,
        "from_name": _RECTANGLES_TAG,
        "to_name": _IMAGE_TAG,
        "original_width": item.width,
        "original_height": item.height,
        "image_rotation": 0,
        "value": {
            "x": 100 * box.x / item.width,
            "y": 100 * box.y / item.height,
            "width": 100 * box.w / item.width,
            "height": 100 * box.h / item.height,
            "rotation": 0,
            "rectanglelabels": [box.label],
        },
    }
    if score is not None:
        result["score"] = score
    return result


def _label_config(labels: Iterable[str], detection: bool) -> ET.Element:
    view = ET.Element("View")
    ET.SubElement(view, "Image", name=_IMAGE_TAG, value="$image")
    if detection:
        group = ET.SubElement(view, "RectangleLabels", name=_RECTANGLES_TAG, toName=_IMAGE_TAG)
        tag = "Label"
    else:
        group = ET.SubElement(
            view, "Choices", name=_CHOICES_TAG, toName=_IMAGE_TAG, choice="single"
        )
        tag = "Choice"
    for label in labels:
        ET.SubElement(group, tag, value=label)
    return view


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None

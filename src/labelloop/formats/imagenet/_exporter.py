"""Write class folders, ``_unlabeled/``, ``labels.txt`` and ``predictions.json``.

Only confirmed labels make class folders. Unlabeled images and images waiting for confirmation
go to ``_unlabeled/`` so that exporting everything and importing it again loses no image; the
predictions of the waiting ones (label, score, hard flags) go to ``predictions.json``. Every
dataset label gets a folder, used or not, so the label list survives the round trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .._exporting import claim_image_name, pending_prediction
from ..base import DatasetInfo, ExportItem, ExportPrediction, ExportReport, UniqueNames, copy_image
from ._layout import LABELS_FILE, PREDICTIONS_FILE, UNLABELED_DIR, folder_name_for

__all__ = ["write_imagenet"]


def write_imagenet(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    labels = list(dataset.labels)
    for label in labels:
        (out / folder_name_for(label)).mkdir(exist_ok=True)
    names = UniqueNames()
    predictions = []
    for item in items:
        labeled = item.labeled and item.label is not None
        folder = folder_name_for(item.label) if labeled else UNLABELED_DIR
        if labeled and item.label not in labels:
            labels.append(item.label)
        _, file_name = claim_image_name(names, folder.lower(), item)
        copy_image(item.file, out / folder / file_name)
        report.images += 1
        prediction = pending_prediction(item)
        if prediction is not None:
            predictions.append(_prediction_entry(f"{folder}/{file_name}", item, prediction))
    (out / LABELS_FILE).write_text("".join(f"{label}\n" for label in labels), encoding="utf-8")
    report.files.append(LABELS_FILE)
    if predictions:
        text = json.dumps(predictions, ensure_ascii=False, indent=2)
        (out / PREDICTIONS_FILE).write_text(text + "\n", encoding="utf-8")
        report.files.append(PREDICTIONS_FILE)
    return report


def _prediction_entry(file: str, item: ExportItem, prediction: ExportPrediction) -> dict:
    return {
        "file": file,
        "original_path": item.original_path,
        "label": prediction.label,
        "score": prediction.score,
        "hard": prediction.hard,
        "hard_coefficient": prediction.hard_coefficient,
        "hard_reasons": [{"code": r.code, "text": r.text} for r in prediction.hard_reasons],
        "model_version": prediction.model_version,
        "job_id": prediction.job_id,
        "annotated_by": prediction.annotated_by,
    }

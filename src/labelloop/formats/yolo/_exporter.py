"""Write a YOLO (ultralytics) detection folder.

    images/<name>                    every image
    labels/<stem>.txt                labeled images: ``class cx cy w h`` (empty: no objects)
    predictions/<stem>.txt           images to confirm: ``class cx cy w h conf``
    predictions/hard_examples.csv    images to confirm: hard, hard_type, coefficient, reasons
    classes.txt, data.yaml           class names; index = position in the dataset's labels

A label on a box that is missing from the dataset's label list gets the next free index, so no
box is lost. Values are written with six decimals: under 0.001 px on a 1000 px image.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import yaml

from labelloop.domain import Box

from .._exporting import claim_image_name, format_number, pending_prediction
from ..base import DatasetInfo, ExportItem, ExportPrediction, ExportReport, UniqueNames, copy_image

__all__ = ["write_yolo"]

IMAGES_DIR = "images"
LABELS_DIR = "labels"
PREDICTIONS_DIR = "predictions"
HARD_EXAMPLES = f"{PREDICTIONS_DIR}/hard_examples.csv"


def write_yolo(out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    names = UniqueNames()
    class_index = {label: index for index, label in enumerate(dataset.labels)}
    hard_rows: list[list[str]] = []
    for item in items:
        stem, image_name = claim_image_name(names, IMAGES_DIR, item)
        copy_image(item.file, out / IMAGES_DIR / image_name)
        report.images += 1
        if item.labeled:
            lines = _lines(item.boxes or (), item, class_index, with_score=False)
            report.files.append(_write_lines(out, f"{LABELS_DIR}/{stem}.txt", lines))
        prediction = pending_prediction(item)
        if prediction is not None:
            lines = _lines(prediction.boxes, item, class_index, with_score=True)
            report.files.append(_write_lines(out, f"{PREDICTIONS_DIR}/{stem}.txt", lines))
            hard_rows.append(_hard_row(image_name, prediction))
    classes = sorted(class_index, key=class_index.__getitem__)
    report.files.append(_write_lines(out, "classes.txt", classes))
    report.files.append(_write_data_yaml(out, classes))
    if hard_rows:
        report.files.append(_write_hard_examples(out, hard_rows))
    return report


def _lines(
    boxes: Iterable[Box], item: ExportItem, class_index: dict[str, int], *, with_score: bool
) -> list[str]:
    if item.width <= 0 or item.height <= 0:
        raise ValueError(f"{item.original_path}: image size {item.width}x{item.height} unknown")
    lines = []
    for box in boxes:
        index = class_index.setdefault(box.label, len(class_index))
        values = (
            (box.x + box.w / 2) / item.width,
            (box.y + box.h / 2) / item.height,
            box.w / item.width,
            box.h / item.height,
        )
        line = f"{index} " + " ".join(f"{value:.6f}" for value in values)
        if with_score:
            line += f" {box.score if box.score is not None else 1.0:.6f}"
        lines.append(line)
    return lines


def _hard_row(image_name: str, prediction: ExportPrediction) -> list[str]:
    return [
        image_name,
        "1" if prediction.hard else "0",
        str(prediction.hard_type or ""),
        format_number(prediction.hard_coefficient),
        ";".join(str(reason.code) for reason in prediction.hard_reasons),
        prediction.annotated_by,
    ]


def _write_lines(out: Path, relative: str, lines: Iterable[str]) -> str:
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return relative


def _write_data_yaml(out: Path, classes: list[str]) -> str:
    # No "path:" key: a relative one would be read against the trainer's datasets folder;
    # the user adds an absolute one where the export ends up.
    data = {
        "train": IMAGES_DIR,
        "val": IMAGES_DIR,
        "nc": len(classes),
        "names": dict(enumerate(classes)),
    }
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    (out / "data.yaml").write_text(text, encoding="utf-8")
    return "data.yaml"


def _write_hard_examples(out: Path, rows: list[list[str]]) -> str:
    path = out / HARD_EXAMPLES
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["image", "hard", "hard_type", "hard_coefficient", "hard_reasons", "annotated_by"]
        )
        writer.writerows(rows)
    return HARD_EXAMPLES

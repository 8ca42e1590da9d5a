"""A tiny dataset as the database would hand it to an exporter (``ExportItem`` objects).

It holds what round trips tend to break: several labels (one with a space, one accented, one
declared but unused), a partly labeled set, an image waiting for confirmation with a
prediction, unicode and space file names, two images with the same file name in different
folders, a labeled detection image with no boxes, and fractional box coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labelloop.domain import Box, HardReason, HardType, TaskType
from labelloop.formats.base import DatasetInfo, ExportItem, ExportPrediction

from .images import sha256_file, write_image

CLASSIFICATION_LABELS = ("cat", "dog", "red fox", "café", "unused")
DETECTION_LABELS = ("car", "person", "traffic light", "vélo", "unused")


@dataclass(frozen=True)
class Sample:
    info: DatasetInfo
    items: tuple[ExportItem, ...]

    def by_sha(self) -> dict[str, ExportItem]:
        return {item.sha256: item for item in self.items}


@dataclass(frozen=True)
class _Spec:
    original_path: str
    size: tuple[int, int]
    state: str
    label: str | None = None
    boxes: tuple[Box, ...] | None = None
    prediction: ExportPrediction | None = None


def build_sample(store: Path, task_type: TaskType, name: str = "sample") -> Sample:
    """Write the images under ``store`` (the stand-in for the blob store) and describe them."""
    specs = _classification() if task_type is TaskType.CLASSIFICATION else _detection()
    labels = CLASSIFICATION_LABELS if task_type is TaskType.CLASSIFICATION else DETECTION_LABELS
    items = []
    for seed, spec in enumerate(specs, start=1):
        blob = write_image(store / f"blob-{seed}{Path(spec.original_path).suffix}", spec.size, seed)
        items.append(
            ExportItem(
                file=blob,
                original_path=spec.original_path,
                width=spec.size[0],
                height=spec.size[1],
                state=spec.state,
                sha256=sha256_file(blob),
                label=spec.label,
                boxes=spec.boxes,
                prediction=spec.prediction,
                annotated_at="2024-05-01T12:00:00+00:00" if spec.state == "labeled" else None,
            )
        )
    return Sample(DatasetInfo(name=name, task_type=task_type, labels=labels), tuple(items))


def _classification() -> list[_Spec]:
    prediction = ExportPrediction(
        label="dog",
        score=0.73,
        hard=True,
        hard_coefficient=0.61,
        hard_reasons=(HardReason(1, "low confidence"),),
        model_version="v3",
        job_id=7,
    )
    return [
        _Spec("train/a/cat1.jpg", (40, 30), "labeled", label="cat"),
        _Spec("train/b/cat1.jpg", (30, 40), "labeled", label="dog"),  # same name, other folder
        _Spec("photos/my photo ü.png", (36, 36), "labeled", label="red fox"),
        _Spec("dog 2.jpeg", (48, 32), "labeled", label="dog"),
        _Spec("Straße/日本.png", (32, 24), "labeled", label="café"),
        _Spec("loose/unlabeled one.png", (40, 30), "unlabeled"),
        _Spec("u2.jpg", (24, 24), "unlabeled"),
        _Spec("pending.jpg", (40, 30), "to_confirm", prediction=prediction),
    ]


def _detection() -> list[_Spec]:
    prediction = ExportPrediction(
        boxes=(Box("car", 2.0, 3.0, 10.0, 8.0, 0.81), Box("person", 20.0, 5.0, 6.0, 12.0, 0.34)),
        hard=True,
        hard_type=HardType.FALSE_DETECTION,
        hard_coefficient=0.55,
        hard_reasons=(HardReason(1, "low confidence"),),
        model_version="det-v1",
        job_id=9,
    )
    return [
        _Spec(
            "train/a/street.jpg",
            (64, 48),
            "labeled",
            boxes=(Box("car", 1.0, 2.0, 20.0, 10.0), Box("person", 30.25, 4.5, 8.5, 20.75)),
        ),
        _Spec(
            "train/b/street.jpg", (48, 64), "labeled", boxes=(Box("traffic light", 5, 6, 7, 30),)
        ),
        _Spec("photos/my photo ü.png", (50, 40), "labeled", boxes=(Box("vélo", 0, 0, 50, 40),)),
        _Spec("empty road.jpg", (40, 30), "labeled", boxes=()),  # labeled: nothing to box
        _Spec(
            "Straße/日本.png",
            (60, 45),
            "labeled",
            boxes=(Box("car", 10, 10, 15, 12), Box("car", 12, 11, 15, 12)),  # overlapping
        ),
        _Spec("loose/unlabeled one.png", (40, 30), "unlabeled"),
        _Spec("u2.jpg", (24, 24), "unlabeled"),
        _Spec("pending.jpg", (40, 30), "to_confirm", prediction=prediction),
    ]

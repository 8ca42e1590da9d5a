"""Pre-label jobs with uploaded ONNX models: predictions, mapping report, hard flags, refusals,
cancel and failures (nothing published)."""

from __future__ import annotations

import numpy as np
import onnx_builders as ob
import pytest
from prelabel_support import BLUE, GREEN, RED, YELLOW, colour_dataset, predictions, prelabel, states

from labelloop.domain import HardType, InvalidInput, JobState, NotFound, WrongTaskType
from labelloop.jobs.runner import run_job
from labelloop.services import jobs as job_service
from labelloop.services import models
from labelloop.services.prelabel import run_prelabel

CLASSES = ["red", "green", "blue"]


def register_classifier(
    app, tmp_path, name="colours", *, layout="NCHW", channels="RGB", probabilities=False,
    classes=CLASSES,
):  # fmt: skip
    weights = ob.COLOR_WEIGHTS[::-1].copy() if channels == "BGR" else None
    path = ob.classifier(
        tmp_path / f"{name}.onnx", layout=layout, probabilities=probabilities, weights=weights
    )
    contract = ob.contract(
        "classification",
        classes,
        size=(32, 32),
        layout=layout,
        channels=channels,
        outputs_probabilities=probabilities,
    )
    return models.register_onnx(app, name, path, contract)


@pytest.mark.parametrize(
    "variant",
    [
        {"probabilities": False},
        {"probabilities": True, "layout": "NHWC"},
        {"channels": "BGR"},
    ],
    ids=["logits-nchw", "probabilities-nhwc", "bgr"],
)
def test_classification_prelabel_with_mapping_report_and_hard_flags(app, tmp_path, variant):
    ids = colour_dataset(
        app,
        tmp_path,
        "pets",
        "classification",
        ["red", "Green", "cat"],
        [RED, GREEN, YELLOW, BLUE],
        labeled=[(RED, "red")],
    )
    register_classifier(app, tmp_path, **variant)
    job = prelabel(app, "pets", "colours")
    assert job.state is JobState.SUCCEEDED, job.error
    r = job.result
    assert r["mapping"] == {"red": "red", "green": "Green"}
    assert r["matched_by"] == {"red": "exact", "green": "case-insensitive"}
    assert r["unmapped_model_classes"] == ["blue"]
    assert r["labels_without_model_class"] == ["cat"]
    assert r["images_best_class_unmapped"] == {"blue": 1}
    assert r["published"] == 4
    found = predictions(app, "pets")
    red, green, yellow, blue, labeled = (found.get(i) for i in ids)
    assert labeled is None  # a labeled image is never predicted
    assert (red.label, red.hard) == ("red", False) and red.score > 0.95
    assert (green.label, green.hard) == ("Green", False)
    assert yellow.hard and "margin" in yellow.hard_reasons[0].text  # red and green nearly tied
    assert blue.hard and any("'blue' maps to no dataset label" in r.text for r in blue.hard_reasons)
    assert blue.score < 0.05  # the mass went to the unmapped class
    assert all(p.model_version == "colours:1" and p.job_id == job.id for p in found.values())
    assert states(app, "pets") == {"unlabeled": 0, "to_confirm": 4, "labeled": 1}
    assert job.metrics["predicted_images"] == 4 and job.metrics["hard_images"] == 2


def test_to_confirm_images_are_predicted_again(app, tmp_path):
    ids = colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    register_classifier(app, tmp_path)
    first = prelabel(app, "pets", "colours")
    register_classifier(app, tmp_path, name="swapped", classes=["green", "red", "blue"])
    second = prelabel(app, "pets", "swapped")
    assert second.result["published"] == 2
    found = predictions(app, "pets")
    assert [found[i].label for i in ids] == ["green", "red"]  # the swapped model's answer
    assert {p.job_id for p in found.values()} == {second.id} != {first.id}


def test_explicit_mapping_and_unresolvable_mappings(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["warm", "cold"], [RED, BLUE])
    register_classifier(app, tmp_path)
    with pytest.raises(InvalidInput, match="none of the model's classes"):
        job_service.start_job(app, "pets", "pre-label", {"model": "colours"})
    with pytest.raises(InvalidInput, match="no label 'hot'"):
        job_service.start_job(app, "pets", "pre-label", {"model": "colours", "map": {"red": "hot"}})
    with pytest.raises(NotFound, match="'nope'"):
        job_service.start_job(app, "pets", "pre-label", {"model": "nope"})
    with pytest.raises(InvalidInput, match="needs a model"):
        job_service.start_job(app, "pets", "pre-label", {})
    job = prelabel(app, "pets", "colours", {"red": "warm", "blue": "cold", "green": "warm"})
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result["unmapped_model_classes"] == []
    assert sorted(p.label for p in predictions(app, "pets").values()) == ["cold", "warm"]


def test_task_type_must_match(app, tmp_path):
    colour_dataset(app, tmp_path, "boxes", "detection", ["red", "green"], [RED])
    register_classifier(app, tmp_path)
    with pytest.raises(WrongTaskType, match="classification model; it cannot pre-label the det"):
        job_service.start_job(app, "boxes", "pre-label", {"model": "colours"})


def test_nothing_to_prelabel_is_refused(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red"], [], labeled=[(RED, "red")])
    register_classifier(app, tmp_path)
    with pytest.raises(InvalidInput, match="no unlabeled or to-confirm images"):
        job_service.start_job(app, "pets", "pre-label", {"model": "colours"})


def logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def register_detector(app, tmp_path):
    """Five fixed boxes in a 64x64 input; scores depend on red minus green (see below)."""
    boxes = np.array(
        [
            [8, 8, 24, 24],  # a: 0.98 on red images, ~0 on green ones
            [32, 32, 48, 48],  # b: always 0.9
            [40, 0, 50, 10],  # c (a class the dataset lacks): always 0.8
            [0, 48, 12, 60],  # b: always 0.35, alone -> a hint of a missed object
            [50, 20, 60, 30],  # a: 0.6 on green images (shaky), ~0 on red ones
        ]
    )
    labels = np.array([0, 1, 2, 1, 0])
    weights = np.zeros((3, 5), np.float32)
    weights[0, 0], weights[1, 0] = 6.0, -6.0
    weights[0, 4], weights[1, 4] = -6.0, 6.0
    green = np.array([40, 200, 60]) / 255.0
    bias = np.array(
        [0.0, logit(0.9), logit(0.8), logit(0.35), logit(0.6) - 6.0 * (green[1] - green[0])],
        np.float32,
    )
    path = ob.detector(tmp_path / "det.onnx", boxes, labels, weights, score_bias=bias)
    contract = ob.contract("detection", ["a", "b", "c"], size=(64, 64))
    return models.register_onnx(app, "boxer", path, contract)


def test_detection_prelabel_boxes_hints_and_hard_types(app, tmp_path):
    ids = colour_dataset(
        app, tmp_path, "cells", "detection", ["A", "b"], [RED, GREEN], size=(200, 100)
    )
    register_detector(app, tmp_path)
    job = prelabel(app, "cells", "boxer")
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result["boxes_of_unmapped_classes"] == {"c": 2}
    assert job.result["unmapped_model_classes"] == ["c"]
    red, green = (predictions(app, "cells")[i] for i in ids)
    # squash 200x100 -> 64x64: x * 200/64, y * 100/64
    shown = [
        (b.label, round(b.x, 3), round(b.y, 3), round(b.w, 3), round(b.h, 3)) for b in red.boxes
    ]
    assert shown == [("A", 25.0, 12.5, 50.0, 25.0), ("b", 100.0, 50.0, 50.0, 25.0)]
    assert red.hard_type is HardType.MISSED_DETECTION and red.hard
    assert [(h.label, round(h.score, 2)) for h in red.hints] == [("b", 0.35)]
    assert green.hard_type is HardType.FALSE_DETECTION
    assert sorted(b.label for b in green.boxes) == ["A", "b"]
    assert np.isclose(min(b.score for b in green.boxes), 0.6, atol=1e-3)
    assert "a proposed box scores 0.60" in green.hard_reasons[0].text


def test_cancel_during_prediction_publishes_nothing(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN] * 20)
    register_classifier(app, tmp_path)
    job = job_service.start_job(app, "pets", "pre-label", {"model": "colours"})

    class CancelOnFirstProgress:
        """The real reporter; the user presses cancel once the first batch is done."""

        def __init__(self, reporter):
            self.reporter = reporter

        def __getattr__(self, name):
            return getattr(self.reporter, name)

        def update(self, done, total=None):
            job_service.cancel_job(app, job.id)
            self.reporter.check_cancel()

    finished = run_job(
        app, job.id, pipeline=lambda a, j, r: run_prelabel(a, j, CancelOnFirstProgress(r))
    )
    assert finished.state is JobState.CANCELLED
    assert predictions(app, "pets") == {}
    assert states(app, "pets")["unlabeled"] == 40


def test_a_model_file_broken_after_registration_fails_the_job_cleanly(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    model = register_classifier(app, tmp_path)
    with open(f"{model.path}/model.onnx", "wb") as handle:
        handle.write(b"truncated")
    job = prelabel(app, "pets", "colours")
    assert job.state is JobState.FAILED
    assert "model colours:1" in job.error and "not a loadable ONNX model" in job.error
    assert predictions(app, "pets") == {}
    assert states(app, "pets")["unlabeled"] == 2

"""The ``labelstudio`` format: task lists, image references, results, predictions, bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from contract import FormatContract, read_all
from helpers.format_samples import build_sample
from helpers.images import write_image
from labelloop.domain import Box, TaskType
from labelloop.formats import get_format
from labelloop.formats.base import CONFIDENCE_CERTAIN, CONFIDENCE_LIKELY, CONFIDENCE_NONE


class TestLabelStudioClassificationContract(FormatContract):
    format_name = "labelstudio"
    task_type = TaskType.CLASSIFICATION
    reports_symlinks = True


class TestLabelStudioDetectionContract(TestLabelStudioClassificationContract):
    task_type = TaskType.DETECTION


@pytest.fixture
def fmt():
    return get_format("labelstudio")


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _rect(x, y, w, h, label="car", **extra) -> dict:
    value = {"x": x, "y": y, "width": w, "height": h, "rectanglelabels": [label]}
    return {
        "type": "rectanglelabels",
        "original_width": 200,
        "original_height": 100,
        "value": value | extra.pop("value", {}),
        **extra,
    }


def _choice(*names) -> dict:
    return {"type": "choices", "value": {"choices": list(names)}}


def _task(image, *results, cancelled=False, predictions=(), **extra) -> dict:
    task = {"data": {"image": image}, "predictions": list(predictions), **extra}
    task["annotations"] = [{"result": list(results), "was_cancelled": cancelled}]
    return task


def test_reads_choices_and_rectangles(fmt, tmp_path):
    write_image(tmp_path / "images" / "a.jpg", (200, 100), seed=1)
    write_image(tmp_path / "images" / "b.jpg", (200, 100), seed=2)
    write_image(tmp_path / "images" / "c.jpg", seed=3)  # no task: unlabeled
    tasks = [
        _task("images/a.jpg", _rect(10, 20, 50, 40), _rect(0, 0, 100, 100, "person")),
        {"data": {"image": "images/b.jpg"}, "annotations": []},
    ]
    _write(tmp_path / "result.json", tasks)
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    by_name = {i.relative_path: i for i in items}
    a = by_name["images/a.jpg"]
    assert a.pixel_boxes(200, 100) == [
        Box("car", 20, 20, 100, 40),
        Box("person", 0, 0, 200, 100),
    ]
    assert a.declared_size == (200, 100) and a.source == "result.json"
    assert by_name["images/b.jpg"].pixel_boxes(200, 100) is None
    assert by_name["images/c.jpg"].label is None


def test_classification_choice(fmt, tmp_path):
    write_image(tmp_path / "x.png", seed=1)
    _write(tmp_path / "export.json", [_task("x.png", _choice("cat"))])
    items, ctx = read_all(fmt, tmp_path)
    assert [(i.label, i.normalized_boxes) for i in items] == [("cat", None)]
    assert ctx.warnings == []


@pytest.mark.parametrize(
    "reference",
    [
        "/data/upload/3/1a2b3c4d-my cat.jpg",
        "/data/upload/3/my%20cat.jpg",
        "/data/local-files/?d=some/deep/photos/my%20cat.jpg",
        "http://localhost:8080/media/photos/my%20cat.jpg",
        "s3://bucket/photos/my cat.jpg",
        "photos/my cat.jpg",
        "C:\\Users\\me\\photos\\my cat.jpg",
    ],
)
def test_image_references_resolve(fmt, tmp_path, reference):
    write_image(tmp_path / "photos" / "my cat.jpg", seed=1)
    write_image(tmp_path / "other" / "dog.jpg", seed=2)
    _write(tmp_path / "result.json", [_task(reference, _choice("cat"))])
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == []
    assert {i.relative_path: i.label for i in items} == {
        "photos/my cat.jpg": "cat",
        "other/dog.jpg": None,
    }


def test_upload_prefixed_file_on_disk_is_found_as_is(fmt, tmp_path):
    write_image(tmp_path / "upload" / "3" / "1a2b3c4d-cat.jpg", seed=1)
    _write(tmp_path / "result.json", [_task("/data/upload/3/1a2b3c4d-cat.jpg", _choice("cat"))])
    items, _ = read_all(fmt, tmp_path)
    assert [i.relative_path for i in items] == ["upload/3/1a2b3c4d-cat.jpg"]


def test_custom_data_key_is_used(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    task = {"data": {"text": "hello", "photo": "/data/upload/1/a.jpg"}, "annotations": []}
    _write(tmp_path / "result.json", [task])
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == [] and [i.relative_path for i in items] == ["a.jpg"]


def test_cancelled_annotations_and_predictions_do_not_label(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "b.jpg", seed=2)
    prediction = {"model_version": "m1", "score": 0.9, "result": [_choice("cat")]}
    _write(
        tmp_path / "result.json",
        [
            _task("a.jpg", _choice("dog"), cancelled=True),
            {"data": {"image": "b.jpg"}, "predictions": [prediction]},
        ],
    )
    items, _ = read_all(fmt, tmp_path)
    assert [(i.relative_path, i.label) for i in items] == [("a.jpg", None), ("b.jpg", None)]


def test_newest_of_several_annotations_is_used(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    task = {
        "data": {"image": "a.jpg"},
        "annotations": [
            {"result": [_choice("new")], "updated_at": "2024-05-02T10:00:00Z"},
            {"result": [_choice("old")], "updated_at": "2024-05-01T10:00:00Z"},
        ],
    }
    _write(tmp_path / "result.json", [task])
    items, ctx = read_all(fmt, tmp_path)
    assert [i.label for i in items] == ["new"]
    assert ctx.warnings[0].problem == "tasks[0]: 2 annotations; the newest is used"


def test_empty_result_is_labeled_empty_only_in_detection_projects(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "b.jpg", seed=2)
    _write(tmp_path / "result.json", [_task("a.jpg"), _task("b.jpg", _rect(1, 1, 5, 5))])
    items, _ = read_all(fmt, tmp_path)
    assert {i.relative_path: i.normalized_boxes for i in items}["a.jpg"] == []
    _write(tmp_path / "result.json", [_task("a.jpg"), _task("b.jpg", _choice("cat"))])
    items, ctx = read_all(fmt, tmp_path)
    assert [(i.label, i.normalized_boxes) for i in items] == [(None, None), ("cat", None)]
    assert "the annotation is empty" in ctx.warnings[0].problem


def test_rotated_rectangle_becomes_its_bounding_box(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", (200, 100), seed=1)
    _write(tmp_path / "r.json", [_task("a.jpg", _rect(50, 10, 10, 20, value={"rotation": 90}))])
    items, _ = read_all(fmt, tmp_path)
    (box,) = items[0].pixel_boxes(200, 100)
    # 20x20 px square turned 90 degrees clockwise about (100, 10): x from 80 to 100
    assert [round(v, 6) for v in (box.x, box.y, box.w, box.h)] == [80, 10, 20, 20]


def test_bad_values_are_dropped_with_warnings_naming_them(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    results = [
        _rect(1, 1, 5, 5),
        _rect(float("nan"), 1, 5, 5),
        _rect("10", 1, 5, 5),
        _rect(1, 1, -5, 5),
        _rect(1, 1, 5, 5, label=""),
        _rect(1, 1, 5, 5, label="x" * 80),
        _rect(1, 1, 5, 5, label="<script>alert(1)</script>"),
        {"type": "polygonlabels", "value": {"points": []}},
        {"type": "rectanglelabels", "value": "oops"},
        "junk",
    ]
    _write(tmp_path / "result.json", [_task("a.jpg", *results)])
    items, ctx = read_all(fmt, tmp_path)
    assert len(items[0].normalized_boxes) == 1
    # every rectangle that gave no box (not the polygon, not the junk entry)
    assert items[0].dropped_annotations == 7
    problems = [w.problem for w in ctx.warnings]
    expected = [
        "value.x is nan, not a finite number",
        'value.x is "10", not a number',
        "not above 0",
        "label name is empty",
        "limit is 64",
        "not allowed in labels",
        "result type 'polygonlabels' is not supported",
        "value is text, not an object",
        "result[9] is text, not an object",
    ]
    assert len(problems) == len(expected), problems
    for text, problem in zip(expected, problems, strict=True):
        assert text in problem and problem.startswith("tasks[0]"), (text, problem)


def test_invalid_choice_skips_the_image_with_an_error(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    _write(tmp_path / "result.json", [_task("a.jpg", _choice("<b>"))])
    items, ctx = read_all(fmt, tmp_path)
    assert items == []
    assert "not allowed in labels" in ctx.errors[0].problem
    assert "image a.jpg skipped" in ctx.errors[0].problem


def test_task_errors_name_the_file_and_task(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    tasks = [
        {"id": 7, "data": {"image": "missing.jpg"}},
        {"id": 8, "data": {"image": "data:image/png;base64,AAAA"}},
        {"id": 9, "data": {"text": "no image"}},
        {"id": 10, "data": "a.jpg"},
        5,
        {"data": {"image": "a.jpg"}},
        {"data": {"image": "/data/upload/1/a.jpg"}},  # the same image again
    ]
    _write(tmp_path / "sub" / "tasks.json", tasks)
    items, ctx = read_all(fmt, tmp_path)
    assert [i.relative_path for i in items] == ["a.jpg"]
    assert all(e.path == "sub/tasks.json" for e in ctx.errors)
    problems = [e.problem for e in ctx.errors]
    assert problems[0] == "tasks[0] (id 7): image 'missing.jpg' not found; skipped"
    assert "data: URI" in problems[1]
    assert problems[2] == "tasks[2] (id 9): data names no image; skipped"
    assert problems[3] == "tasks[3] (id 10): no 'data' object; skipped"
    assert problems[4] == "tasks[4]: no 'data' object; skipped"
    assert problems[5].startswith("tasks[6]: a.jpg is already used by sub/tasks.json tasks[5]")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[{", "not valid JSON"),
        (b"\xff[]", "not UTF-8"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
    ],
)
def test_unreadable_export_holds_back_images(fmt, tmp_path, content, expected):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    path = tmp_path / "result.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    items, ctx = read_all(fmt, tmp_path)
    assert items == []
    assert ctx.errors[0].path == "result.json" and expected in ctx.errors[0].problem
    assert "1 image file(s) not imported" in ctx.errors[1].problem


def test_oversized_export_is_refused(fmt, tmp_path, monkeypatch):
    from labelloop.formats import base

    monkeypatch.setattr(base, "MAX_ANNOTATION_FILE_BYTES", 50)
    write_image(tmp_path / "a.jpg", seed=1)
    _write(tmp_path / "result.json", [_task("a.jpg", _choice("cat"))] * 3)
    items, ctx = read_all(fmt, tmp_path)
    assert items == [] and "refused" in ctx.errors[0].problem


def test_detect(fmt, tmp_path):
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE
    _write(tmp_path / "coco.json", {"images": [], "annotations": [], "categories": []})
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE
    _write(tmp_path / "one.json", {"data": {"image": "a.jpg"}})
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY
    _write(tmp_path / "project-1-at-2024.json", [{"data": {"image": "a.jpg"}}])
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN


def test_export_fields(fmt, tmp_path):
    sample = build_sample(tmp_path / "store", TaskType.DETECTION)
    out = tmp_path / "out"
    report = fmt.write(out, sample.info, iter(sample.items))
    assert report.files == ["result.json", "label_config.xml"]
    tasks = json.loads((out / "result.json").read_text(encoding="utf-8"))
    assert [t["id"] for t in tasks] == list(range(1, len(sample.items) + 1))
    for task in tasks:
        assert task["data"]["image"].startswith("images/")
        assert (out / task["data"]["image"]).is_file()
    pending = next(t for t in tasks if t["meta"]["labelloop"]["state"] == "to_confirm")
    assert pending["annotations"] == []
    (prediction,) = pending["predictions"]
    assert prediction["model_version"] == "det-v1"
    assert math.isclose(prediction["score"], (0.81 + 0.34) / 2)
    assert [r["score"] for r in prediction["result"]] == [0.81, 0.34]
    meta = pending["meta"]["labelloop"]
    assert meta["hard"] is True and meta["hard_type"] == "false_detection"
    assert meta["hard_coefficient"] == 0.55 and meta["hard_reasons"][0]["code"] == 1
    street = next(
        t for t in tasks if t["meta"]["labelloop"]["original_path"] == "train/a/street.jpg"
    )
    first = street["annotations"][0]["result"][0]
    assert first["original_width"] == 64 and first["original_height"] == 48
    assert first["value"]["x"] == pytest.approx(100 * 1 / 64)
    config = (out / "label_config.xml").read_text(encoding="utf-8")
    assert "<RectangleLabels" in config and 'value="traffic light"' in config


def test_classification_export_prediction(fmt, tmp_path):
    sample = build_sample(tmp_path / "store", TaskType.CLASSIFICATION)
    out = tmp_path / "out"
    fmt.write(out, sample.info, iter(sample.items))
    tasks = json.loads((out / "result.json").read_text(encoding="utf-8"))
    pending = next(t for t in tasks if t["predictions"])
    assert pending["predictions"][0]["score"] == 0.73
    assert pending["predictions"][0]["result"][0]["value"] == {"choices": ["dog"]}
    labeled = [t for t in tasks if t["annotations"]]
    assert all(t["annotations"][0]["result"][0]["type"] == "choices" for t in labeled)

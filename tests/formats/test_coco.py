"""The ``coco`` format: detection JSON, its layouts, its bad inputs, pycocotools compatibility."""

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


class TestCocoContract(FormatContract):
    format_name = "coco"
    task_type = TaskType.DETECTION
    reports_symlinks = True


@pytest.fixture
def fmt():
    return get_format("coco")


def _coco(images, annotations=(), categories=({"id": 1, "name": "car"},), **extra) -> dict:
    return {
        "images": list(images),
        "annotations": list(annotations),
        "categories": list(categories),
        **extra,
    }


def _write(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def _ann(i, image_id, bbox, category_id=1, **extra) -> dict:
    return {"id": i, "image_id": image_id, "category_id": category_id, "bbox": bbox, **extra}


def test_reads_annotations_json_with_images_folder(fmt, tmp_path):
    write_image(tmp_path / "images" / "a.jpg", (64, 48), seed=1)
    write_image(tmp_path / "images" / "b.jpg", (64, 48), seed=2)
    write_image(tmp_path / "images" / "c.jpg", seed=3)  # on disk, not listed: unlabeled
    images = [
        {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
        {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},  # listed, no boxes
    ]
    anns = [_ann(1, 1, [1, 2, 10, 20]), _ann(2, 1, [5.5, 6, 7, 8], category_id=2)]
    cats = [{"id": 1, "name": "car"}, {"id": 2, "name": "person"}, {"id": 3, "name": "bus"}]
    _write(tmp_path / "annotations.json", _coco(images, anns, cats))
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    by_name = {i.relative_path: i for i in items}
    assert by_name["images/a.jpg"].boxes == [
        Box("car", 1, 2, 10, 20),
        Box("person", 5.5, 6, 7, 8),
    ]
    assert by_name["images/a.jpg"].declared_size == (64, 48)
    assert by_name["images/a.jpg"].source == "annotations.json"
    assert by_name["images/b.jpg"].boxes == []
    assert by_name["images/c.jpg"].boxes is None
    assert ctx.declared_labels == ["car", "person", "bus"]


def test_reads_roboflow_split_layout(fmt, tmp_path):
    for split, seed in (("train", 1), ("valid", 2)):
        write_image(tmp_path / split / "x.jpg", seed=seed)  # same name in both splits
        _write(
            tmp_path / split / "_annotations.coco.json",
            _coco([{"id": 0, "file_name": "x.jpg"}], [_ann(0, 0, [1, 1, 5, 5])]),
        )
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == []
    assert sorted(i.relative_path for i in items) == ["train/x.jpg", "valid/x.jpg"]
    assert all(i.boxes == [Box("car", 1, 1, 5, 5)] for i in items)


def test_reads_coco_devkit_layout(fmt, tmp_path):
    write_image(tmp_path / "val2017" / "000000000139.jpg", seed=1)
    _write(
        tmp_path / "annotations" / "instances_val2017.json",
        _coco([{"id": 139, "file_name": "000000000139.jpg"}], [_ann(1, 139, [0, 0, 4, 4])]),
    )
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == []
    assert [(i.relative_path, len(i.boxes)) for i in items] == [("val2017/000000000139.jpg", 1)]


def test_file_name_with_a_foreign_path_falls_back_to_the_name(fmt, tmp_path):
    write_image(tmp_path / "pics" / "a.jpg", seed=1)
    _write(tmp_path / "coco.json", _coco([{"id": 1, "file_name": "C:\\data\\set\\a.jpg"}]))
    items, ctx = read_all(fmt, tmp_path)
    assert ctx.errors == []
    assert [(i.relative_path, i.boxes) for i in items] == [("pics/a.jpg", [])]


def test_file_name_cannot_escape_the_root(fmt, tmp_path):
    root = tmp_path / "root"
    write_image(tmp_path / "secret.jpg", seed=1)
    write_image(root / "images" / "ok.jpg", seed=2)
    _write(
        root / "annotations.json",
        _coco([{"id": 1, "file_name": "../../secret.jpg"}, {"id": 2, "file_name": "/etc/passwd"}]),
    )
    items, ctx = read_all(fmt, root)
    assert [(i.relative_path, i.boxes) for i in items] == [("images/ok.jpg", None)]
    assert [e.problem for e in ctx.errors] == [
        "images[0] (../../secret.jpg): image file not found; skipped",
        "images[1] (/etc/passwd): image file not found; skipped",
    ]


def test_unknown_category_and_bad_boxes_are_dropped_with_warnings(fmt, tmp_path):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    anns = [
        _ann(1, 1, [1, 1, 5, 5]),
        _ann(2, 1, [1, 1, 5, 5], category_id=99),
        _ann(3, 1, [float("nan"), 1, 5, 5]),
        _ann(4, 1, ["1", 1, 5, 5]),
        _ann(5, 1, [1, 1, -5, 5]),
        _ann(6, 1, [1, 1, 5]),
        _ann(7, 1, None),
        _ann(8, 1, [1, 1, 1e999, 5]),
        _ann(9, 1, [True, 1, 5, 5]),
        _ann(10, 42, [1, 1, 5, 5]),
        "not an object",
    ]
    text = json.dumps(_coco([{"id": 1, "file_name": "a.jpg"}], anns))  # NaN, Infinity literals
    _write(tmp_path / "annotations.json", text)
    items, ctx = read_all(fmt, tmp_path)
    assert [i.boxes for i in items] == [[Box("car", 1, 1, 5, 5)]]
    assert items[0].dropped_annotations == 8  # annotations[1..8]; [9] names another image
    problems = [w.problem for w in ctx.warnings]
    assert all(w.path == "annotations.json" for w in ctx.warnings)
    assert len(problems) == 10, problems
    expected = [
        "annotations[1] (image a.jpg): category_id 99 is not in categories",
        "annotations[2] (image a.jpg): bbox[0] is nan, not a finite number",
        'annotations[3] (image a.jpg): bbox[0] is "1", not a number',
        "zero or negative width or height",
        "bbox is a list of 3, not [x, y, width, height]",
        "bbox is null",
        "bbox[2] is inf, not a finite number",
        "bbox[0] is true, not a number",
        "annotations[9]: image_id 42 is not an image of this file",
        "annotations[10] is text, not an object",
    ]
    for text, problem in zip(expected, problems, strict=True):
        assert text in problem, (text, problem)


def test_category_with_invalid_name_drops_its_boxes(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    cats = [
        {"id": 1, "name": "car"},
        {"id": 2, "name": "<img src=x>"},
        {"id": 3, "name": ""},
        {"id": 4, "name": "y" * 100},
    ]
    anns = [_ann(1, 1, [1, 1, 5, 5]), _ann(2, 1, [1, 1, 5, 5], category_id=2)]
    _write(tmp_path / "annotations.json", _coco([{"id": 1, "file_name": "a.jpg"}], anns, cats))
    items, ctx = read_all(fmt, tmp_path)
    assert [len(i.boxes) for i in items] == [1]
    assert ctx.declared_labels == ["car"]
    problems = " | ".join(w.problem for w in ctx.warnings)
    assert "categories[1] (id 2)" in problems and "not allowed" in problems
    assert "categories[2] (id 3): label name is empty" in problems
    assert "categories[3] (id 4)" in problems and "limit is 64" in problems
    assert "category 2 has no valid name" in problems


def test_missing_image_file_is_an_error_for_that_image(fmt, tmp_path):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "gone.jpg"}]
    _write(tmp_path / "annotations.json", _coco(images))
    items, ctx = read_all(fmt, tmp_path)
    assert [i.relative_path for i in items] == ["images/a.jpg"]
    assert [(e.path, e.problem) for e in ctx.errors] == [
        ("annotations.json", "images[1] (gone.jpg): image file not found; skipped")
    ]


def test_bad_image_entries_are_errors_naming_the_field(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "b.jpg", seed=2)
    images = [
        {"id": 1, "file_name": "a.jpg", "width": "wide", "height": 10},
        {"id": 1, "file_name": "b.jpg"},
        {"id": 3.5, "file_name": "b.jpg"},
        {"id": 4, "file_name": 7},
        [],
    ]
    _write(tmp_path / "annotations.json", _coco(images))
    items, ctx = read_all(fmt, tmp_path)
    assert [(i.relative_path, i.declared_size) for i in items] == [("a.jpg", None)]
    errors = [e.problem for e in ctx.errors]
    assert "images[1] (b.jpg): id 1 is used by an earlier image" in errors[0]
    assert "images[2].id is 3.5, not a whole number; image b.jpg skipped" in errors[1]
    assert "images[3]: file_name is a number, not a file name" in errors[2]
    assert "images[4] is a list, not an object" in errors[3]
    assert 'images[0] (a.jpg).width is "wide"' in ctx.warnings[0].problem


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 50_000 + "]" * 50_000, "nested too deeply"),
        ("1" * 5000, "not valid JSON"),
        ('{"images": 5}', "field 'images' is a number, not a list"),
        ('{"images": [], "annotations": {}}', "field 'annotations' is an object, not a list"),
        ("[1, 2]", None),  # parses, not COCO, name says annotations: warned
    ],
)
def test_broken_annotation_file_is_reported_and_holds_back_unlisted_images(
    fmt, tmp_path, content, expected
):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    path = tmp_path / "annotations.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    items, ctx = read_all(fmt, tmp_path)
    if expected is None:
        assert [w.problem for w in ctx.warnings] == ["ignored: not a COCO file (no 'images' list)"]
        return
    assert items == []
    assert ctx.errors[0].path == "annotations.json"
    assert expected in ctx.errors[0].problem
    assert "1 image file(s)" in ctx.errors[-1].problem


def test_oversized_json_is_refused_without_reading_it(fmt, tmp_path, monkeypatch):
    from labelloop.formats import base

    monkeypatch.setattr(base, "MAX_ANNOTATION_FILE_BYTES", 100)
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    _write(tmp_path / "annotations.json", _coco([{"id": 1, "file_name": "a.jpg"}] * 5))
    items, ctx = read_all(fmt, tmp_path)
    assert items == []
    assert "over the" in ctx.errors[0].problem and "refused" in ctx.errors[0].problem


def test_unrelated_json_files_are_left_alone(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    _write(tmp_path / "config.json", {"lr": 0.1})
    _write(tmp_path / "broken-settings.json", "{")
    items, ctx = read_all(fmt, tmp_path)
    assert [i.boxes for i in items] == [None]  # unlisted image still imported
    assert [e.path for e in ctx.errors] == ["broken-settings.json"]
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE


def test_detect_levels(fmt, tmp_path):
    _write(tmp_path / "a" / "x.json", {"images": []})
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY
    _write(tmp_path / "a" / "y.json", _coco([]))
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN
    _write(tmp_path / "a" / "y.json", [{"data": {"image": "x.jpg"}}])  # Label Studio
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY


def test_export_layout_fields_and_predictions(fmt, tmp_path):
    sample = build_sample(tmp_path / "store", TaskType.DETECTION)
    out = tmp_path / "out"
    report = fmt.write(out, sample.info, iter(sample.items))
    assert report.files == ["annotations.json"] and report.images == len(sample.items)
    doc = json.loads((out / "annotations.json").read_text(encoding="utf-8"))
    assert [c["id"] for c in doc["categories"]] == [1, 2, 3, 4, 5]
    assert [c["name"] for c in doc["categories"]] == list(sample.info.labels)
    assert [i["id"] for i in doc["images"]] == list(range(1, len(sample.items) + 1))
    assert [a["id"] for a in doc["annotations"]] == list(range(1, len(doc["annotations"]) + 1))
    for image in doc["images"]:
        assert (out / "images" / image["file_name"]).is_file()
    pending = next(i for i in doc["images"] if i["file_name"] == "pending.jpg")
    assert pending["labelloop_state"] == "to_confirm"
    assert pending["hard"] is True and pending["hard_type"] == "false_detection"
    assert pending["hard_coefficient"] == 0.55
    assert pending["hard_reasons"] == [{"code": 1, "text": "low confidence"}]
    predicted = [a for a in doc["annotations"] if a["image_id"] == pending["id"]]
    assert [(a["score"], a["labelloop_predicted"]) for a in predicted] == [
        (0.81, True),
        (0.34, True),
    ]
    street = next(a for a in doc["annotations"] if a["bbox"] == [30.25, 4.5, 8.5, 20.75])
    assert math.isclose(street["area"], 8.5 * 20.75) and street["iscrowd"] == 0


def test_export_loads_in_pycocotools(fmt, tmp_path):
    coco_api = pytest.importorskip("pycocotools.coco")
    sample = build_sample(tmp_path / "store", TaskType.DETECTION)
    out = tmp_path / "out"
    fmt.write(out, sample.info, iter(sample.items))
    coco = coco_api.COCO(str(out / "annotations.json"))
    assert len(coco.getImgIds()) == len(sample.items)
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(sample.info.labels)
    car = coco.getCatIds(catNms=["car"])[0]
    labeled = sum(len(item.boxes or ()) for item in sample.items if item.labeled)
    predicted = sum(len(item.prediction.boxes) for item in sample.items if item.prediction)
    assert len(coco.getAnnIds()) == labeled + predicted
    assert coco.getAnnIds(catIds=[car])


def test_dropped_boxes_are_counted_per_image(fmt, tmp_path):
    for seed, name in enumerate(("a.jpg", "b.jpg", "c.jpg"), start=1):
        write_image(tmp_path / "images" / name, seed=seed)
    images = [{"id": i, "file_name": name} for i, name in enumerate(("a.jpg", "b.jpg", "c.jpg"))]
    anns = [_ann(1, 0, [1, 1, 0, 5]), _ann(2, 0, [1, 1, 5, 5], category_id=7)]
    anns += [_ann(3, 1, [1, 1, 5, 5]), _ann(4, 1, [1, 1, 5, 0])]
    _write(tmp_path / "annotations.json", _coco(images, anns))
    items, _ = read_all(fmt, tmp_path)
    found = {i.relative_path: (i.boxes, i.dropped_annotations) for i in items}
    assert found == {
        "images/a.jpg": ([], 2),  # every box dropped: the service imports it unlabeled
        "images/b.jpg": ([Box("car", 1, 1, 5, 5)], 1),
        "images/c.jpg": ([], 0),  # listed without annotations: labeled, no objects
    }

"""YOLO: layouts, class-name files, bad lines, normalised boxes, export, real data."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import yaml

from contract import FormatContract
from helpers.images import write_image
from labelloop.domain import Box, HardReason, HardType, TaskType
from labelloop.formats import get_format
from labelloop.formats.base import (
    CONFIDENCE_CERTAIN,
    CONFIDENCE_LIKELY,
    CONFIDENCE_NONE,
    DatasetInfo,
    ExportItem,
    ExportPrediction,
    ImportItem,
)
from realdata_voc import boxes_match, read_with, real_dataset, stored_items

YOLO = get_format("yolo")


class TestYoloContract(FormatContract):
    format_name = "yolo"
    task_type = TaskType.DETECTION


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_name(items: list[ImportItem]) -> dict[str, ImportItem]:
    return {item.relative_path: item for item in items}


def close(a: Box, b: Box) -> bool:
    return a.label == b.label and all(
        math.isclose(p, q, abs_tol=1e-9)
        for p, q in ((a.x, b.x), (a.y, b.y), (a.w, b.w), (a.h, b.h))
    )


# --- layouts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "label"),
    [
        ("images/a.jpg", "labels/a.txt"),
        ("images/a.jpg", "annotations/a.txt"),
        ("images/train/a.jpg", "labels/train/a.txt"),
        ("train/images/a.jpg", "train/labels/a.txt"),  # roboflow
        ("obj/a.jpg", "obj/a.txt"),  # darknet: beside the image
    ],
)
def test_finds_the_label_file_of_each_layout(tmp_path: Path, image: str, label: str):
    write(tmp_path / "classes.txt", "cat\ndog\n")
    write_image(tmp_path / image, seed=1)
    write(tmp_path / label, "1 0.5 0.5 0.2 0.4\n")
    items, ctx = read_with("yolo", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    [item] = items
    assert item.relative_path == image and item.source == label
    assert item.boxes is None  # the service scales normalized boxes by the probed size
    assert close(item.normalized_boxes[0], Box("dog", 0.4, 0.3, 0.2, 0.4))
    assert item.pixel_boxes(100, 50) == [Box("dog", 40.0, 15.0, 20.0, 20.0)]


def test_missing_txt_is_unlabeled_and_empty_txt_is_labeled(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\n")
    write_image(tmp_path / "images" / "none.jpg", seed=1)
    write_image(tmp_path / "images" / "empty.jpg", seed=2)
    write(tmp_path / "labels" / "empty.txt", "")
    found = by_name(read_with("yolo", tmp_path)[0])
    assert found["images/none.jpg"].normalized_boxes is None
    assert found["images/none.jpg"].pixel_boxes(10, 10) is None
    assert found["images/empty.jpg"].normalized_boxes == []


def test_label_file_without_image_is_reported(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\n")
    write(tmp_path / "labels" / "ghost.txt", "0 0.5 0.5 0.1 0.1\n")
    items, ctx = read_with("yolo", tmp_path)
    assert items == []
    assert [(i.path, i.problem) for i in ctx.warnings] == [
        ("labels/ghost.txt", "no image for this label file; ignored")
    ]


# --- class names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "text"),
    [
        ("classes.txt", "cat\ndog\n"),
        ("obj.names", "cat\ndog\n"),
        ("labels/classes.txt", "cat\ndog\n"),  # labelImg writes it beside the txt files
        ("data.yaml", "names: [cat, dog]\n"),
        ("data.yaml", "nc: 2\nnames:\n  0: cat\n  1: dog\n"),
        ("data.yaml", "names: {'1': dog, '0': cat}\n"),
    ],
)
def test_class_name_files(tmp_path: Path, file: str, text: str):
    write(tmp_path / file, text)
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "labels" / "a.txt", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n")
    items, ctx = read_with("yolo", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    assert ctx.declared_labels == ["cat", "dog"]
    assert [box.label for box in items[0].normalized_boxes] == ["cat", "dog"]


def test_no_class_file_names_labels_by_index(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "labels" / "a.txt", "3 0.5 0.5 0.2 0.2\n")
    items, ctx = read_with("yolo", tmp_path)
    assert items[0].normalized_boxes[0].label == "3"
    assert "no class-names file" in ctx.warnings[0].problem


def test_an_unreadable_class_file_names_no_label_by_index(tmp_path: Path):
    # Labels "0", "1", ... would be junk that later imports never match: no class is known, so
    # the boxes are dropped (and the image imports unlabeled, to be labeled once it is fixed).
    (tmp_path / "classes.txt").write_bytes("café\nthé\n".encode("latin-1"))
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "labels" / "a.txt", "1 0.5 0.5 0.2 0.2\n")
    items, ctx = read_with("yolo", tmp_path)
    assert ctx.declared_labels == []
    assert [e.path for e in ctx.errors] == ["classes.txt"]
    assert "cannot read class names" in ctx.errors[0].problem
    assert items[0].normalized_boxes == [] and items[0].dropped_annotations == 1


def test_disagreeing_class_files_and_bad_names_are_reported(tmp_path: Path):
    write(tmp_path / "data.yaml", "names: [cat, 'bad<name', dog]\n")
    write(tmp_path / "classes.txt", "cow\n")
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "labels" / "a.txt", "0 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n")
    items, ctx = read_with("yolo", tmp_path)
    assert ctx.declared_labels == ["cat", "dog"]  # data.yaml wins; index 1 had a bad name
    assert [box.label for box in items[0].normalized_boxes] == ["cat"]
    warnings = {(issue.path, issue.problem.split(";")[0]) for issue in ctx.warnings}
    assert ("classes.txt", "class names differ from data.yaml, which is the one used") in warnings
    assert any(path == "data.yaml" and "class 1" in problem for path, problem in warnings)
    assert any(
        path == "labels/a.txt" and problem.startswith("line 2: class 1 is not in data.yaml")
        for path, problem in warnings
    )


@pytest.mark.parametrize(
    "text", ["names: [a, [b\n", "names: 5\n", "- just\n- a list\n", "[" * 5000 + "]" * 5000]
)
def test_broken_data_yaml_is_an_error_not_a_crash(tmp_path: Path, text: str):
    write(tmp_path / "data.yaml", text)
    write_image(tmp_path / "images" / "a.jpg")
    items, ctx = read_with("yolo", tmp_path)
    assert len(items) == 1
    assert ctx.errors[0].path == "data.yaml"


# --- bad lines ----------------------------------------------------------------------------------


def test_bad_lines_are_dropped_naming_file_and_line(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\ndog\n")
    write_image(tmp_path / "images" / "a.jpg")
    lines = [
        "0 0.5 0.5 0.2 0.2",  # 1 good
        "7 0.5 0.5 0.2 0.2",  # 2 class out of range
        "x 0.5 0.5 0.2 0.2",  # 3 class not a number
        "0 0.5 0.5 0.2",  # 4 too few values
        "0 0.5 nan 0.2 0.2",  # 5 nan
        "0 320 240 64 48",  # 6 pixels, not fractions
        "1 0.5 0.5 -0.2 0.2",  # 7 negative width
        "",  # 8 blank: ignored
        "1 0.1 0.2 0.3 0.2 0.2 0.6",  # 9 polygon: bounding box kept
        "1.0 0.5 0.5 1.0 1.0",  # 10 class written as a float, whole image
    ]
    write(tmp_path / "labels" / "a.txt", "\n".join(lines) + "\n")
    items, ctx = read_with("yolo", tmp_path)
    boxes = items[0].normalized_boxes
    assert close(boxes[0], Box("cat", 0.4, 0.4, 0.2, 0.2))
    assert close(boxes[1], Box("dog", 0.1, 0.2, 0.2, 0.4))
    assert close(boxes[2], Box("dog", 0, 0, 1, 1))
    assert len(boxes) == 3
    assert ctx.errors == []
    assert all(issue.path == "labels/a.txt" for issue in ctx.warnings)
    problems = [issue.problem for issue in ctx.warnings]
    assert [problem.split(":")[0] for problem in problems] == [f"line {n}" for n in range(2, 8)]
    assert "class 7 is not in classes.txt (classes 0..1)" in problems[0]
    assert "'x' is not a number" in problems[1]
    assert "found 4" in problems[2]
    assert "not a finite number" in problems[3]
    assert "not pixels" in problems[4]
    assert "negative" in problems[5]


def test_unreadable_label_file_skips_its_image(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\n")
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    write_image(tmp_path / "images" / "b.jpg", seed=2)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_bytes(b"0 0.5 \xff\xfe 0.1 0.1\n")
    write(tmp_path / "labels" / "b.txt", "0 0.5 0.5 0.1 0.1\n")
    items, ctx = read_with("yolo", tmp_path)
    assert [item.relative_path for item in items] == ["images/b.jpg"]
    assert ctx.errors[0].path == "labels/a.txt" and "image skipped" in ctx.errors[0].problem


# --- export -------------------------------------------------------------------------------------

DATASET = DatasetInfo("d", TaskType.DETECTION, ("cat", "dog"))


def export_item(tmp_path: Path, name: str, state: str, **fields) -> ExportItem:
    blob = write_image(tmp_path / "store" / name, (200, 100), seed=len(name))
    return ExportItem(file=blob, original_path=name, width=200, height=100, state=state, **fields)


def test_export_writes_labels_predictions_and_class_files(tmp_path: Path):
    prediction = ExportPrediction(
        boxes=(Box("dog", 0, 0, 100, 50, 0.25),),
        hard=True,
        hard_type=HardType.FALSE_DETECTION,
        hard_coefficient=0.5,
        hard_reasons=(HardReason(1, "low confidence"), HardReason(3, "far")),
    )
    items = [
        export_item(
            tmp_path,
            "a.jpg",
            "labeled",
            boxes=(Box("cat", 20, 10, 40, 30), Box("bird", 0, 0, 2, 2)),
        ),
        export_item(tmp_path, "b.jpg", "to_confirm", prediction=prediction),
        export_item(tmp_path, "c.jpg", "unlabeled"),
    ]
    out = tmp_path / "out"
    report = YOLO.write(out, DATASET, iter(items))
    assert report.images == 3
    assert (out / "labels" / "a.txt").read_text().splitlines() == [
        "0 0.200000 0.250000 0.200000 0.300000",
        "2 0.005000 0.010000 0.010000 0.020000",  # "bird" is not a dataset label: next index
    ]
    assert not (out / "labels" / "b.txt").exists() and not (out / "labels" / "c.txt").exists()
    predicted = (out / "predictions" / "b.txt").read_text()
    assert predicted == "1 0.250000 0.250000 0.500000 0.500000 0.250000\n"  # score last
    assert (out / "classes.txt").read_text() == "cat\ndog\nbird\n"
    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == {0: "cat", 1: "dog", 2: "bird"} and data["nc"] == 3
    with (out / "predictions" / "hard_examples.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "image": "b.jpg",
            "hard": "1",
            "hard_type": "false_detection",
            "hard_coefficient": "0.5",
            "hard_reasons": "1;3",
            "annotated_by": "labelloop/active-learning",
        }
    ]
    read, ctx = read_with("yolo", out)
    assert ctx.errors == [] and ctx.warnings == []
    found = by_name(read)
    assert found["images/b.jpg"].normalized_boxes is None  # a prediction is not an annotation
    assert found["images/a.jpg"].pixel_boxes(200, 100) == [
        Box("cat", 20, 10, 40, 30),
        Box("bird", 0, 0, 2, 2),
    ]


# --- detect -------------------------------------------------------------------------------------


def test_detect(tmp_path: Path):
    full, bare, voc, empty = (tmp_path / n for n in ("full", "bare", "voc", "empty"))
    for root in (full, bare):
        write_image(root / "images" / "a.jpg")
        write(root / "labels" / "a.txt", "0 0.5 0.5 0.1 0.1\n")
    write(full / "data.yaml", "names: [a]\n")
    write_image(voc / "images" / "a.jpg")
    write(voc / "annotations" / "a.xml", "<annotation/>")
    empty.mkdir()
    assert YOLO.detect(full) == CONFIDENCE_CERTAIN
    assert YOLO.detect(bare) == CONFIDENCE_LIKELY
    assert YOLO.detect(voc) == CONFIDENCE_NONE
    assert YOLO.detect(empty) == CONFIDENCE_NONE


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.realdata
def test_bccd_round_trips_voc_to_yolo_to_voc(tmp_path: Path):
    voc_items, _ = read_with("voc", real_dataset("bccd"))
    stored = stored_items(voc_items)
    labels = ("RBC", "WBC", "Platelets")
    info = DatasetInfo("bccd", TaskType.DETECTION, labels)

    get_format("yolo").write(tmp_path / "yolo", info, stored)
    yolo_items, yolo_ctx = read_with("yolo", tmp_path / "yolo")
    assert yolo_ctx.errors == [] and yolo_ctx.warnings == []
    assert yolo_ctx.declared_labels == list(labels)
    get_format("voc").write(tmp_path / "voc", info, stored_items(yolo_items))
    final_items, final_ctx = read_with("voc", tmp_path / "voc")
    assert final_ctx.errors == [] and final_ctx.warnings == []

    expected = {item.file_name: item.boxes for item in stored}
    assert len(final_items) == len(expected) == 364
    for item in final_items:
        assert boxes_match(expected[item.path.name], item.boxes), item.relative_path


def test_boxes_overshooting_the_image_are_kept_for_clipping(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\n")
    write_image(tmp_path / "images" / "a.jpg")
    lines = [
        "0 0.95 0.5 0.2 0.2",  # right edge at 1.05: kept whole, the import service clips it
        "0 0.0 0.0 1.0 1.0",  # centred on the corner: corners -0.5 and 0.5, the limit
        "0 1.4 0.5 0.4 0.2",  # right edge at 1.6: cannot be a box of this image
        "0 -0.3 0.5 0.6 0.2",  # left edge at -0.6
        "0 2 0.5 0.4 0.2",  # 2: a pixel value, not a fraction
    ]
    write(tmp_path / "labels" / "a.txt", "\n".join(lines) + "\n")
    [item], ctx = read_with("yolo", tmp_path)
    assert len(item.normalized_boxes) == 2
    assert close(item.normalized_boxes[0], Box("cat", 0.85, 0.4, 0.2, 0.2))
    assert close(item.normalized_boxes[1], Box("cat", -0.5, -0.5, 1.0, 1.0))
    assert item.dropped_annotations == 3
    problems = [issue.problem for issue in ctx.warnings]
    assert problems[0].startswith("line 3: corners (1.2, 0.4, 1.6, 0.6) lie far outside")
    assert problems[1].startswith("line 4: corners (-0.6, 0.4, 0, 0.6) lie far outside")
    assert problems[2].startswith("line 5: values up to 2;") and "not pixels" in problems[2]
    assert all(p.endswith("box dropped") for p in problems)


def test_only_lines_that_failed_count_as_dropped(tmp_path: Path):
    write(tmp_path / "classes.txt", "cat\n")
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    write_image(tmp_path / "images" / "b.jpg", seed=2)
    write(tmp_path / "labels" / "a.txt", "\n\n")  # blank lines: no objects, nothing dropped
    write(tmp_path / "labels" / "b.txt", "3 0.5 0.5 0.1 0.1\n")
    items, _ = read_with("yolo", tmp_path)
    found = {i.relative_path: (i.normalized_boxes, i.dropped_annotations) for i in items}
    assert found == {"images/a.jpg": ([], 0), "images/b.jpg": ([], 1)}

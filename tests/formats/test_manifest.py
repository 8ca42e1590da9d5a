"""ModelArts manifest: source resolution, human vs model annotations, bad lines, export."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract import FormatContract
from helpers.images import write_image
from labelloop.domain import Box, HardReason, HardType, TaskType
from labelloop.formats import get_format
from labelloop.formats.base import (
    CONFIDENCE_CERTAIN,
    CONFIDENCE_NONE,
    CONFIDENCE_WEAK,
    DatasetInfo,
    ExportItem,
    ExportPrediction,
    ImportItem,
)
from labelloop.formats.voc import parse_annotation
from realdata_voc import boxes_match, read_with, real_dataset, stored_items

MANIFEST = get_format("manifest")
CLS = "modelarts/image_classification"
DET = "modelarts/object_detection"


class TestManifestDetectionContract(FormatContract):
    format_name = "manifest"
    task_type = TaskType.DETECTION
    declares_all_labels = False  # a manifest has no label list of its own


class TestManifestClassificationContract(FormatContract):
    format_name = "manifest"
    task_type = TaskType.CLASSIFICATION
    declares_all_labels = False


def write_manifest(path: Path, *records: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def label(name: str, by: str = "human", **extra) -> dict:
    return {"type": CLS, "name": name, "annotated-by": by, **extra}


def boxes_at(location: str, by: str = "human") -> dict:
    return {
        "type": DET,
        "annotation-loc": location,
        "annotation-format": "PASCAL VOC",
        "annotated-by": by,
    }


def write_voc(path: Path, *boxes: tuple[str | int, ...]) -> Path:
    objects = "".join(
        f"<object><name>{n}</name><bndbox><xmin>{a}</xmin><ymin>{b}</ymin><xmax>{c}</xmax>"
        f"<ymax>{d}</ymax></bndbox></object>"
        for n, a, b, c, d in boxes
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<annotation><filename>x.jpg</filename><size><width>40</width><height>30</height>"
        f"</size>{objects}</annotation>",
        encoding="utf-8",
    )
    return path


def by_name(items: list[ImportItem]) -> dict[str, ImportItem]:
    return {item.relative_path: item for item in items}


# --- sources ------------------------------------------------------------------------------------


def test_sources_resolve_relative_absolute_and_by_uri_basename(tmp_path: Path):
    for seed, name in enumerate(("rel.jpg", "top.jpg", "abs.jpg", "s3.jpg", "obs.jpg"), 1):
        write_image(tmp_path / "data" / "imgs" / name, seed=seed)
    write_manifest(
        tmp_path / "data" / "train.manifest",
        {"source": "imgs/rel.jpg", "annotation": [label("a")]},  # relative to the manifest
        {"source": "data/imgs/top.jpg"},  # relative to the root
        {"source": str(tmp_path / "data" / "imgs" / "abs.jpg")},
        {"source": "s3://bucket/some/where/s3.jpg"},
        {"source": "obs://bucket/obs.jpg?versionId=3"},
    )
    items, ctx = read_with("manifest", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    expected = [f"data/imgs/{n}.jpg" for n in ("rel", "top", "abs", "s3", "obs")]
    assert [item.relative_path for item in items] == expected
    assert items[0].label == "a" and items[1].label is None
    assert items[0].source == "data/train.manifest line 1"


def test_never_reads_an_image_outside_the_root(tmp_path: Path):
    root = tmp_path / "root"
    write_image(tmp_path / "secret.jpg", seed=1)
    write_manifest(
        root / "a.manifest",
        {"source": "../secret.jpg"},
        {"source": str(tmp_path / "secret.jpg")},
    )
    items, ctx = read_with("manifest", root)
    assert items == []
    assert [e.problem.split(":")[0] for e in ctx.errors] == ["line 1", "line 2"]
    assert all("not found under the import folder" in e.problem for e in ctx.errors)


def test_images_not_listed_are_not_imported(tmp_path: Path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "extra.jpg", seed=2)
    write_manifest(tmp_path / "x.manifest", {"source": "a.jpg"})
    items, _ = read_with("manifest", tmp_path)
    assert [item.relative_path for item in items] == ["a.jpg"]


# --- annotations --------------------------------------------------------------------------------


def test_human_labels_are_read_and_model_labels_ignored(tmp_path: Path):
    for seed, name in enumerate("abcd", 1):
        write_image(tmp_path / f"{name}.jpg", seed=seed)
    write_manifest(
        tmp_path / "x.manifest",
        {"source": "a.jpg", "annotation": [label("cat")]},
        {"source": "b.jpg", "annotation": [label("dog", "modelarts/active-learning")]},
        {"source": "c.jpg", "annotation": [{"type": CLS, "name": "fox"}]},  # human by default
        {"source": "d.jpg", "annotation": [label("cat"), label("dog")]},
    )
    items, ctx = read_with("manifest", tmp_path)
    assert [item.label for item in items] == ["cat", None, "fox", "cat"]
    assert ctx.errors == []
    [warning] = ctx.warnings
    assert warning.path == "x.manifest"
    assert warning.problem.startswith("line 4: annotation 2: second label 'dog' ignored")


def test_detection_boxes_come_from_the_voc_file(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    write_image(tmp_path / "images" / "b.jpg", seed=2)
    write_image(tmp_path / "images" / "c.jpg", seed=3)
    write_voc(tmp_path / "Annotations" / "a.xml", ("car", 1, 2, 11, 22), ("car", 0, 0, 5, 5))
    write_voc(tmp_path / "Annotations" / "b.xml")
    write_voc(tmp_path / "Predictions" / "c.xml", ("car", 1, 1, 4, 4))
    write_manifest(
        tmp_path / "m" / "output.manifest",
        {"source": "s3://b/images/a.jpg", "annotation": [boxes_at("../Annotations/a.xml")]},
        {"source": "images/b.jpg", "annotation": [boxes_at("s3://b/Annotations/b.xml")]},
        {"source": "images/c.jpg", "annotation": [boxes_at("Predictions/c.xml", "model/x")]},
    )
    items, ctx = read_with("manifest", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    found = by_name(items)
    assert found["images/a.jpg"].boxes == [Box("car", 1, 2, 10, 20), Box("car", 0, 0, 5, 5)]
    assert found["images/a.jpg"].declared_size == (40, 30)
    assert found["images/b.jpg"].boxes == []  # labeled, nothing in it
    assert found["images/c.jpg"].boxes is None  # only a model's boxes: unlabeled


def test_bad_lines_are_reported_by_line_number(tmp_path: Path):
    for seed, name in enumerate("abcdefgh", 1):
        write_image(tmp_path / f"{name}.jpg", seed=seed)
    (tmp_path / "hostile.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><annotation>&x;</annotation>'
    )
    write_voc(tmp_path / "ok.xml", ("car", 1, 1, 3, 3), ("car", "q", 1, 3, 3))
    write_manifest(
        tmp_path / "x.manifest",
        {"source": "a.jpg", "annotation": [label("ok")]},  # 1 fine
        "{not json",  # 2
        "[1, 2]",  # 3
        {"annotation": []},  # 4 no source
        {"source": "missing.jpg"},  # 5
        {"source": "a.jpg"},  # 6 listed twice
        {"source": "b.jpg", "annotation": {"type": CLS}},  # 7 not a list
        {"source": "c.jpg", "annotation": [label("bad<name")]},  # 8
        {"source": "d.jpg", "annotation": [boxes_at("hostile.xml")]},  # 9
        {"source": "e.jpg", "annotation": [boxes_at("nowhere.xml")]},  # 10
        {"source": "f.jpg", "annotation": [{**boxes_at("ok.xml"), "annotation-format": "COCO"}]},
        {"source": "g.jpg", "annotation": [boxes_at("ok.xml")]},  # 12 fine, one box dropped
        "",  # 13 blank: ignored
        {"source": "h.jpg", "annotation": [{"type": "modelarts/audio"}]},  # 14 unknown type
    )
    items, ctx = read_with("manifest", tmp_path)
    assert [item.relative_path for item in items] == ["a.jpg", "g.jpg", "h.jpg"]
    assert by_name(items)["g.jpg"].boxes == [Box("car", 1, 1, 2, 2)]
    errors = {int(e.problem.split(":")[0].removeprefix("line ")): e.problem for e in ctx.errors}
    assert all(e.path == "x.manifest" for e in ctx.errors)
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "not valid JSON" in errors[2]
    assert "not a JSON object" in errors[3]
    assert "no 'source'" in errors[4]
    assert "'missing.jpg' not found" in errors[5]
    assert "already listed on x.manifest line 1" in errors[6]
    assert "'annotation' is not a list" in errors[7]
    assert "bad<name" in errors[8]
    assert "hostile.xml" in errors[9] and "DTD" in errors[9]
    assert "'nowhere.xml' not found" in errors[10]
    assert "'COCO' is not supported" in errors[11]
    warnings = [(w.path, w.problem) for w in ctx.warnings]
    assert ("ok.xml", "object 2 (car): <xmin> 'q' is not a number; box dropped") in warnings
    assert any(p.startswith("line 14: annotation 1: type 'modelarts/audio'") for _, p in warnings)


def test_no_manifest_is_an_error(tmp_path: Path):
    write_image(tmp_path / "a.jpg")
    items, ctx = read_with("manifest", tmp_path)
    assert items == [] and "no *.manifest file" in ctx.errors[0].problem


# --- export -------------------------------------------------------------------------------------


def export_item(tmp_path: Path, name: str, state: str, **fields) -> ExportItem:
    blob = write_image(tmp_path / "store" / name, (40, 30), seed=len(name) + len(state))
    return ExportItem(
        file=blob, original_path=f"x/{name}", width=40, height=30, state=state, **fields
    )


def records(out: Path) -> list[dict]:
    lines = (out / "output.manifest").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_classification_export_fields(tmp_path: Path):
    prediction = ExportPrediction(
        label="dog",
        score=0.4,
        hard=True,
        hard_coefficient=0.8,
        hard_reasons=(HardReason(1, "low"), HardReason(4, "inconsistent")),
        annotated_by="labelloop/pre-label",
    )
    items = [
        export_item(tmp_path, "a.jpg", "labeled", label="cat", annotated_at="2024-05-01T12:00:00"),
        export_item(tmp_path, "b.jpg", "to_confirm", prediction=prediction),
        export_item(tmp_path, "c.jpg", "unlabeled"),
    ]
    info = DatasetInfo("d", TaskType.CLASSIFICATION, ("cat", "dog"))
    MANIFEST.write(tmp_path / "out", info, items)
    a, b, c = records(tmp_path / "out")
    assert a["source"] == "images/a.jpg" and a["usage"] == "TRAIN"
    assert a["annotation"] == [
        {
            "type": CLS,
            "name": "cat",
            "annotated-by": "human",
            "creation-time": "2024-05-01 12:00:00",
        }
    ]
    assert (b["hard"], b["hard-coefficient"], b["hard-reasons"]) == ("true", 0.8, [1, 4])
    assert "hard-type" not in b  # detection only
    assert b["annotation"] == [
        {
            "type": CLS,
            "name": "dog",
            "confidence": 0.4,
            "annotated-by": "labelloop/pre-label",
            "hard": "true",
            "hard-coefficient": 0.8,
        }
    ]
    assert c["annotation"] == [] and c["usage"] == "INFERENCE" and "hard" not in c


def test_detection_export_fields(tmp_path: Path):
    prediction = ExportPrediction(
        boxes=(Box("car", 1, 1, 5, 5, 0.9),), hard=False, hard_type=HardType.NONE
    )
    items = [
        export_item(tmp_path, "a.jpg", "labeled", boxes=(Box("car", 2, 3, 4, 5),)),
        export_item(tmp_path, "b.jpg", "to_confirm", prediction=prediction),
    ]
    info = DatasetInfo("d", TaskType.DETECTION, ("car",))
    report = MANIFEST.write(tmp_path / "out", info, items)
    assert report.files == ["output.manifest", "Annotations/a.xml", "Predictions/b.xml"]
    a, b = records(tmp_path / "out")
    assert a["annotation"] == [
        {
            "type": DET,
            "annotation-loc": "Annotations/a.xml",
            "annotation-format": "PASCAL VOC",
            "annotated-by": "human",
        }
    ]
    assert (b["hard"], b["hard-type"], b["hard-reasons"]) == ("false", "none", [])
    [model] = b["annotation"]
    assert model["annotated-by"] == "labelloop/active-learning"
    assert model["annotation-loc"] == "Predictions/b.xml"
    assert "<score>0.9</score>" in (tmp_path / "out" / "Predictions" / "b.xml").read_text()


# --- detect -------------------------------------------------------------------------------------


def test_detect(tmp_path: Path):
    good, junk, none = tmp_path / "good", tmp_path / "junk", tmp_path / "none"
    write_manifest(good / "train.manifest", "", {"source": "a.jpg"})
    write_manifest(junk / "x.manifest", "hello")
    none.mkdir()
    assert MANIFEST.detect(good) == CONFIDENCE_CERTAIN
    assert MANIFEST.detect(junk) == CONFIDENCE_WEAK
    assert MANIFEST.detect(none) == CONFIDENCE_NONE


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.realdata
def test_bccd_round_trips_voc_to_manifest_to_voc(tmp_path: Path):
    voc_items, _ = read_with("voc", real_dataset("bccd"))
    stored = stored_items(voc_items)
    info = DatasetInfo("bccd", TaskType.DETECTION, ("RBC", "WBC", "Platelets"))

    get_format("manifest").write(tmp_path / "manifest", info, stored)
    assert get_format("manifest").detect(tmp_path / "manifest") == CONFIDENCE_CERTAIN
    manifest_items, manifest_ctx = read_with("manifest", tmp_path / "manifest")
    assert manifest_ctx.errors == [] and manifest_ctx.warnings == []
    get_format("voc").write(tmp_path / "voc", info, stored_items(manifest_items))
    final_items, final_ctx = read_with("voc", tmp_path / "voc")
    assert final_ctx.errors == [] and final_ctx.warnings == []

    expected = {item.file_name: item.boxes for item in stored}
    assert len(final_items) == len(expected) == 364
    for item in final_items:
        assert boxes_match(expected[item.path.name], item.boxes), item.relative_path


def test_detection_prediction_carries_confidence_and_creation_time(tmp_path: Path):
    scored = ExportPrediction(
        boxes=(Box("car", 1, 1, 5, 5, 0.9), Box("car", 10, 10, 8, 8, 0.35)),
        hard=True,
        hard_type=HardType.FALSE_DETECTION,
        hard_coefficient=0.7,
        created_at="2024-06-02T08:15:30+00:00",
    )
    own_score = ExportPrediction(boxes=(Box("car", 2, 2, 4, 4, 0.5),), score=0.8)
    unscored = ExportPrediction(boxes=(Box("car", 2, 2, 4, 4),))
    items = [
        export_item(tmp_path, "a.jpg", "to_confirm", prediction=scored),
        export_item(tmp_path, "b.jpg", "to_confirm", prediction=own_score),
        export_item(tmp_path, "c.jpg", "to_confirm", prediction=unscored),
        export_item(tmp_path, "d.jpg", "labeled", boxes=(Box("car", 2, 3, 4, 5),)),
    ]
    out = tmp_path / "out"
    MANIFEST.write(out, DatasetInfo("d", TaskType.DETECTION, ("car",)), items)
    a, b, c, d = (record["annotation"] for record in records(out))
    assert a == [
        {
            "type": DET,
            "annotation-loc": "Predictions/a.xml",
            "annotation-format": "PASCAL VOC",
            "confidence": 0.9,  # the image's score: its best box
            "annotated-by": "labelloop/active-learning",
            "hard": "true",
            "hard-coefficient": 0.7,
            "creation-time": "2024-06-02 08:15:30",
        }
    ]
    assert b[0]["confidence"] == 0.8  # the prediction's own image score wins
    assert "confidence" not in c[0] and "creation-time" not in c[0]
    assert "confidence" not in d[0]  # a person's boxes have no confidence
    # per object, in the VOC file: ModelArts' <confidence> beside labelloop's <score>
    predicted = ET.parse(out / "Predictions" / "a.xml").getroot()
    scores = [
        (obj.findtext("confidence"), obj.findtext("score")) for obj in predicted.iter("object")
    ]
    assert scores == [("0.9", "0.9"), ("0.35", "0.35")]
    human = ET.parse(out / "Annotations" / "d.xml").getroot()
    assert human.find("object/confidence") is None and human.find("object/score") is None


def test_classification_prediction_carries_creation_time(tmp_path: Path):
    prediction = ExportPrediction(label="dog", score=0.4, created_at="2024-06-02T08:15:30")
    item = export_item(tmp_path, "a.jpg", "to_confirm", prediction=prediction)
    MANIFEST.write(tmp_path / "out", DatasetInfo("d", TaskType.CLASSIFICATION, ("dog",)), [item])
    [model] = records(tmp_path / "out")[0]["annotation"]
    assert (model["confidence"], model["creation-time"]) == (0.4, "2024-06-02 08:15:30")


def test_an_exported_detection_manifest_with_predictions_reads_back(tmp_path: Path):
    prediction = ExportPrediction(
        boxes=(Box("car", 1, 1, 5, 5, 0.9),), created_at="2024-06-02T08:15:30"
    )
    items = [
        export_item(tmp_path, "a.jpg", "labeled", boxes=(Box("car", 2, 3, 4, 5),)),
        export_item(tmp_path, "b.jpg", "to_confirm", prediction=prediction),
    ]
    out = tmp_path / "out"
    MANIFEST.write(out, DatasetInfo("d", TaskType.DETECTION, ("car",)), items)
    read, ctx = read_with("manifest", out)
    assert ctx.errors == [] and ctx.warnings == []
    found = by_name(read)
    assert found["images/a.jpg"].boxes == [Box("car", 2, 3, 4, 5)]
    assert found["images/b.jpg"].boxes is None  # a model's proposal is never an annotation
    # The prediction's VOC file reads back with each box's confidence as its score.
    parsed = parse_annotation(ET.parse(out / "Predictions" / "b.xml").getroot())
    assert parsed.boxes == [Box("car", 1, 1, 5, 5, 0.9)] and parsed.problems == []


def test_modelarts_fields_on_annotations_and_objects_are_accepted(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>40</width><height>30</height>"
        "</size><object><name>car</name><occluded>0</occluded><confidence>0.75</confidence>"
        "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>11</xmax><ymax>22</ymax></bndbox></object>"
        "</annotation>",
        encoding="utf-8",
    )
    human = {
        **boxes_at("Annotations/a.xml"),
        "confidence": 1.0,
        "creation-time": "2019-01-23 11:30:30",
        "hard": "false",
        "hard-coefficient": 0.0,
        "property": {"color": "red"},
    }
    write_manifest(tmp_path / "x.manifest", {"source": "images/a.jpg", "annotation": [human]})
    [item], ctx = read_with("manifest", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    assert item.boxes == [Box("car", 1, 2, 10, 20, 0.75)]


def test_a_box_file_whose_objects_are_all_dropped_counts_them(tmp_path: Path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_voc(tmp_path / "a.xml", ("car", 5, 5, 5, 9), ("", 1, 1, 4, 4))
    write_manifest(tmp_path / "x.manifest", {"source": "a.jpg", "annotation": [boxes_at("a.xml")]})
    [item], _ = read_with("manifest", tmp_path)
    assert (item.boxes, item.dropped_annotations) == ([], 2)

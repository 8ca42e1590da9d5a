"""Pascal VOC: layouts, image resolution, hostile XML, bad boxes, predictions, real data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

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
)
from realdata_voc import read_with, real_dataset

VOC = get_format("voc")


class TestVocContract(FormatContract):
    format_name = "voc"
    task_type = TaskType.DETECTION


def voc_xml(filename: str | None = "a.jpg", objects: str = "", *, path: str | None = None) -> str:
    parts = ["<annotation>"]
    if filename is not None:
        parts.append(f"<filename>{filename}</filename>")
    if path is not None:
        parts.append(f"<path>{path}</path>")
    parts.append("<size><width>64</width><height>48</height><depth>3</depth></size>")
    parts.append(objects)
    parts.append("</annotation>")
    return "".join(parts)


def obj(name: str, xmin="1", ymin="2", xmax="11", ymax="22") -> str:
    return (
        f"<object><name>{name}</name><difficult>0</difficult><bndbox><xmin>{xmin}</xmin>"
        f"<ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox></object>"
    )


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def by_name(items) -> dict:
    return {item.relative_path: item for item in items}


# --- layouts and image resolution -------------------------------------------------------------


@pytest.mark.parametrize(
    ("xml_dir", "image_dir"),
    [("Annotations", "JPEGImages"), ("annotations", "images"), ("photos", "photos")],
)
def test_reads_each_layout(tmp_path: Path, xml_dir: str, image_dir: str):
    write_image(tmp_path / image_dir / "a.jpg", (64, 48), seed=1)
    write_image(tmp_path / image_dir / "b.jpg", seed=2)
    write(tmp_path / xml_dir / "a.xml", voc_xml("a.jpg", obj("cat") + obj("dog", 5, 6, 7.5, 9)))
    items, ctx = read_with("voc", tmp_path)
    assert ctx.errors == [] and ctx.warnings == []
    found = by_name(items)
    a = found[f"{image_dir}/a.jpg"]
    assert a.boxes == [Box("cat", 1, 2, 10, 20), Box("dog", 5, 6, 2.5, 3)]
    assert a.declared_size == (64, 48)
    assert a.source == f"{xml_dir}/a.xml"
    assert found[f"{image_dir}/b.jpg"].boxes is None  # no XML: unlabeled


def test_xml_without_objects_means_labeled_with_no_boxes(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "annotations" / "a.xml", voc_xml("a.jpg"))
    items, _ = read_with("voc", tmp_path)
    assert items[0].boxes == []


def test_image_found_by_path_then_by_stem(tmp_path: Path):
    write_image(tmp_path / "images" / "IMG_1.JPG", seed=1)
    write_image(tmp_path / "images" / "scan.png", seed=2)
    write_image(tmp_path / "images" / "third.jpg", seed=3)
    # <filename> is stale, <path> was written on Windows
    write(tmp_path / "ann" / "x.xml", voc_xml("old.jpg", obj("a"), path=r"C:\data\IMG_1.JPG"))
    write(tmp_path / "ann" / "scan.xml", voc_xml(None, obj("b")))  # no filename: same stem
    write(tmp_path / "ann" / "t.xml", voc_xml("third", obj("c")))  # filename without suffix
    items, ctx = read_with("voc", tmp_path)
    assert ctx.errors == []
    found = by_name(items)
    assert found["images/IMG_1.JPG"].boxes[0].label == "a"
    assert found["images/scan.png"].boxes[0].label == "b"
    assert found["images/third.jpg"].boxes[0].label == "c"


def test_filename_lookup_ignores_case(tmp_path: Path):
    write_image(tmp_path / "JPEGImages" / "photo.jpg")
    write(tmp_path / "Annotations" / "photo.xml", voc_xml("PHOTO.JPG", obj("a")))
    items, ctx = read_with("voc", tmp_path)
    assert ctx.errors == [] and items[0].boxes


def test_splits_pair_xml_with_the_image_of_the_same_split(tmp_path: Path):
    for split, seed in (("train", 1), ("val", 2)):
        write_image(tmp_path / "images" / split / "a.jpg", seed=seed)
        write(tmp_path / "annotations" / split / "a.xml", voc_xml("a.jpg", obj(split)))
    items, ctx = read_with("voc", tmp_path)
    assert ctx.errors == []
    found = by_name(items)
    assert found["images/train/a.jpg"].boxes[0].label == "train"
    assert found["images/val/a.jpg"].boxes[0].label == "val"


def test_missing_image_and_second_xml_for_one_image_are_errors(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg")
    write(tmp_path / "annotations" / "a.xml", voc_xml("a.jpg", obj("x")))
    write(tmp_path / "annotations" / "copy.xml", voc_xml("a.jpg", obj("y")))
    write(tmp_path / "annotations" / "gone.xml", voc_xml("gone.jpg", obj("z")))
    items, ctx = read_with("voc", tmp_path)
    assert [item.boxes[0].label for item in items] == ["x"]
    problems = {issue.path: issue.problem for issue in ctx.errors}
    assert "already annotated by annotations/a.xml" in problems["annotations/copy.xml"]
    assert "image not found" in problems["annotations/gone.xml"]
    assert "'gone.jpg'" in problems["annotations/gone.xml"]


def test_segmentation_masks_are_not_images_to_label(tmp_path: Path):
    write_image(tmp_path / "JPEGImages" / "a.jpg")
    write_image(tmp_path / "SegmentationClass" / "a.png")
    write(tmp_path / "Annotations" / "a.xml", voc_xml("a.jpg", obj("x")))
    items, _ = read_with("voc", tmp_path)
    assert [item.relative_path for item in items] == ["JPEGImages/a.jpg"]


def test_labels_file_declares_label_order(tmp_path: Path):
    write(tmp_path / "labels.txt", "zebra\napple\n\nbad<name\n")
    _, ctx = read_with("voc", tmp_path)
    assert ctx.declared_labels == ["zebra", "apple"]
    assert "line 4" in ctx.warnings[0].problem


# --- hostile and broken XML -------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<annotation><filename>a.jpg</filename><object><name>&lol3;</name></object></annotation>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    "<annotation><filename>a.jpg</filename><object><name>&secret;</name></object></annotation>"
)


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_attacks_are_refused_for_that_file_only(tmp_path: Path, hostile: str):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    write_image(tmp_path / "images" / "b.jpg", seed=2)
    write(tmp_path / "annotations" / "a.xml", hostile)
    write(tmp_path / "annotations" / "b.xml", voc_xml("b.jpg", obj("ok")))
    items, ctx = read_with("voc", tmp_path)
    # b is read; a's boxes are unknown, so a is skipped rather than imported unlabeled
    assert [(item.relative_path, len(item.boxes)) for item in items] == [("images/b.jpg", 1)]
    [error] = ctx.errors
    assert error.path == "annotations/a.xml"
    assert "DTD" in error.problem and "images/a.jpg not imported" in error.problem
    assert "root:" not in repr(items)  # nothing of /etc/passwd came through


def test_broken_and_foreign_xml_are_reported(tmp_path: Path):
    write_image(tmp_path / "images" / "b.jpg")
    write(tmp_path / "annotations" / "broken.xml", "<annotation><filename>")
    write(tmp_path / "annotations" / "other.xml", "<config><a/></config>")
    items, ctx = read_with("voc", tmp_path)
    assert [item.boxes for item in items] == [None]
    assert "not well-formed" in ctx.errors[0].problem
    assert ctx.warnings[0].path == "annotations/other.xml"
    assert "<config>" in ctx.warnings[0].problem


def test_bad_boxes_are_dropped_with_a_warning_each(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg")
    objects = (
        obj("good")
        + obj("word", xmin="ten")
        + obj("nan", ymin="nan")
        + "<object><name>nobox</name></object>"
        + "<object><name>missing</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax>"
        "</bndbox></object>"
        + obj("inverted", xmin="20", xmax="10")
        + obj("flat", ymin="5", ymax="5")
        + "<object><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox>"
        "</object>" + obj("a&amp;b")
    )
    write(tmp_path / "annotations" / "a.xml", voc_xml("a.jpg", objects))
    items, ctx = read_with("voc", tmp_path)
    assert [box.label for box in items[0].boxes] == ["good"]
    assert items[0].dropped_annotations == 8  # the service tells "all dropped" from "none"
    assert ctx.errors == []
    problems = [issue.problem for issue in ctx.warnings]
    assert all(issue.path == "annotations/a.xml" for issue in ctx.warnings)
    assert len(problems) == 8
    expected = [
        "object 2 (word): <xmin> 'ten' is not a number",
        "object 3 (nan): <ymin> 'nan' is not a number",
        "object 4 (nobox): no <bndbox>",
        "object 5 (missing): <ymax> is missing",
        "object 6 (inverted): inverted box",
        "object 7 (flat): zero-sized box",
        "object 8: label name is empty",
        "object 9 (a&b): label name 'a&b' holds a character",
    ]
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem
        assert problem.endswith("box dropped")


# --- coordinates, export, predictions ---------------------------------------------------------


def export_item(tmp_path: Path, name: str, state: str, **fields) -> ExportItem:
    blob = write_image(tmp_path / "store" / name, (64, 48), seed=len(name))
    return ExportItem(file=blob, original_path=name, width=64, height=48, state=state, **fields)


DATASET = DatasetInfo("d", TaskType.DETECTION, ("cat", "dog"))


def test_coordinates_round_trip_exactly(tmp_path: Path):
    boxes = (Box("cat", 0, 0, 64, 48), Box("dog", 10.25, 3.5, 0.125, 7.75))
    item = export_item(tmp_path, "a.jpg", "labeled", boxes=boxes)
    VOC.write(tmp_path / "out", DATASET, [item])
    text = (tmp_path / "out" / "Annotations" / "a.xml").read_text(encoding="utf-8")
    # corner convention: xmin = x, xmax = x + w (no +1/-1 shifts)
    assert "<xmin>10.25</xmin>" in text and "<xmax>10.375</xmax>" in text
    assert "<xmax>64</xmax>" in text and "<ymax>48</ymax>" in text
    items, ctx = read_with("voc", tmp_path / "out")
    assert ctx.errors == [] and ctx.warnings == []
    assert tuple(items[0].boxes) == boxes


def test_prediction_goes_to_its_own_file_and_is_never_read_as_annotation(tmp_path: Path):
    prediction = ExportPrediction(
        boxes=(Box("cat", 1, 2, 3, 4, 0.9),),
        hard=True,
        hard_type=HardType.MISSED_DETECTION,
        hard_coefficient=0.7,
        hard_reasons=(HardReason(0, "no object found"),),
        model_version="m1",
        job_id=3,
    )
    items = [
        export_item(tmp_path, "p.jpg", "to_confirm", prediction=prediction),
        # a labeled image's old prediction is stale: not exported
        export_item(tmp_path, "l.jpg", "labeled", boxes=(), prediction=prediction),
    ]
    report = VOC.write(tmp_path / "out", DATASET, items)
    assert "Predictions/p.xml" in report.files and "Predictions/l.xml" not in report.files
    assert not (tmp_path / "out" / "Annotations" / "p.xml").exists()
    text = (tmp_path / "out" / "Predictions" / "p.xml").read_text(encoding="utf-8")
    for fragment in (
        "<score>0.9</score>",
        "<hard>1</hard>",
        "<hard_type>missed_detection</hard_type>",
        "<hard_coefficient>0.7</hard_coefficient>",
        '<hard_reason code="0">no object found</hard_reason>',
        "<annotated_by>labelloop/active-learning</annotated_by>",
        "<model_version>m1</model_version>",
    ):
        assert fragment in text
    # even moved beside its image, a prediction file is not an annotation
    (tmp_path / "out" / "Predictions" / "p.xml").rename(tmp_path / "out" / "JPEGImages" / "p.xml")
    read, ctx = read_with("voc", tmp_path / "out")
    assert ctx.errors == [] and ctx.warnings == []
    assert by_name(read)["JPEGImages/p.jpg"].boxes is None
    assert by_name(read)["JPEGImages/l.jpg"].boxes == []


def test_export_lists_labeled_images_and_labels(tmp_path: Path):
    items = [
        export_item(tmp_path, "a.jpg", "labeled", boxes=(Box("cat", 1, 1, 5, 5),)),
        export_item(tmp_path, "u.jpg", "unlabeled"),
    ]
    report = VOC.write(tmp_path / "out", DATASET, iter(items))
    assert report.images == 2
    out = tmp_path / "out"
    assert (out / "ImageSets" / "Main" / "trainval.txt").read_text() == "a\n"
    assert (out / "labels.txt").read_text() == "cat\ndog\n"
    assert sorted(p.name for p in (out / "JPEGImages").iterdir()) == ["a.jpg", "u.jpg"]


# --- detect -------------------------------------------------------------------------------------


def test_detect(tmp_path: Path):
    devkit, beside, manifest, other = (tmp_path / n for n in ("devkit", "beside", "m", "other"))
    write(devkit / "Annotations" / "a.xml", voc_xml())
    write(beside / "a.xml", voc_xml())
    write(manifest / "Annotations" / "a.xml", voc_xml())
    write(manifest / "output.manifest", '{"source": "a.jpg"}\n')
    write(other / "Annotations" / "a.xml", "<config/>")
    assert VOC.detect(devkit) == CONFIDENCE_CERTAIN
    assert VOC.detect(beside) == CONFIDENCE_LIKELY
    assert VOC.detect(manifest) == CONFIDENCE_LIKELY
    assert VOC.detect(other) == CONFIDENCE_NONE


# --- real data ----------------------------------------------------------------------------------


@pytest.mark.realdata
def test_reads_bccd_and_reports_its_two_degenerate_boxes():
    root = real_dataset("bccd")
    items, ctx = read_with("voc", root)
    assert len(items) == 364
    assert all(item.boxes is not None for item in items)
    assert ctx.errors == []
    counts = Counter(box.label for item in items for box in item.boxes)
    # README: RBC 4,155, WBC 372, Platelets 361 — two RBC boxes have no area
    assert counts == {"RBC": 4155 - 2, "WBC": 372, "Platelets": 361}
    assert sorted(issue.path for issue in ctx.warnings) == [
        "annotations/BloodImage_00338.xml",
        "annotations/BloodImage_00343.xml",
    ]
    assert all("zero-sized box" in issue.problem for issue in ctx.warnings)
    assert {item.declared_size for item in items} == {(640, 480)}


@pytest.mark.realdata
def test_reads_playing_cards():
    root = real_dataset("playing_cards_voc")
    items, ctx = read_with("voc", root)
    assert len(items) == 363
    assert ctx.errors == [] and ctx.warnings == []
    counts = Counter(box.label for item in items for box in item.boxes)
    assert counts == {"ace": 118, "king": 118, "nine": 115, "jack": 113, "queen": 106, "ten": 100}
    assert VOC.detect(root) == CONFIDENCE_CERTAIN


def test_xml_without_objects_drops_nothing_and_scores_are_read(tmp_path: Path):
    write_image(tmp_path / "images" / "a.jpg", seed=1)
    write_image(tmp_path / "images" / "b.jpg", seed=2)
    write(tmp_path / "annotations" / "a.xml", voc_xml("a.jpg"))
    scored = (
        obj("car").replace("<bndbox>", "<confidence>0.75</confidence><bndbox>")
        + obj("bus").replace("<bndbox>", "<score>0.5</score><bndbox>")
        + obj("van").replace("<bndbox>", "<confidence>high</confidence><bndbox>")
    )
    write(tmp_path / "annotations" / "b.xml", voc_xml("b.jpg", scored))
    items, ctx = read_with("voc", tmp_path)
    found = by_name(items)
    assert (found["images/a.jpg"].boxes, found["images/a.jpg"].dropped_annotations) == ([], 0)
    assert [(b.label, b.score) for b in found["images/b.jpg"].boxes] == [
        ("car", 0.75),  # ModelArts' <confidence>
        ("bus", 0.5),  # labelloop's <score>
        ("van", None),  # not a score: the box is kept, the value ignored
    ]
    [warning] = ctx.warnings
    assert "object 3 (van): <confidence> 'high' is not a score" in warning.problem

"""Import through the service on a real database: reports, bad input, nothing half-written."""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from helpers.images import write_image
from labelloop.domain import InvalidInput, WrongTaskType
from labelloop.services import browsing, datasets, importing


def counts(app, name):
    return datasets.dataset_overview(app, name).counts


def skipped(report) -> dict[str, str]:
    return dict(report.skipped)


def test_imagenet_folders_partly_labeled(app, tmp_path):
    src = tmp_path / "src"
    for i in range(3):
        write_image(src / "cat" / f"c{i}.jpg", seed=i)
        write_image(src / "dog" / f"d{i}.png", seed=10 + i)
    write_image(src / "loose.jpg", seed=30)
    (src / "LICENSE").write_text("CC0")
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", src)
    assert report.format == "imagenet"
    assert (report.imported, report.labeled, report.unlabeled) == (7, 6, 1)
    assert sorted(report.labels_added) == ["cat", "dog"]
    assert counts(app, "pets") == {"unlabeled": 1, "to_confirm": 0, "labeled": 6, "total": 7}
    overview = datasets.dataset_overview(app, "pets")
    assert overview.labels["cat"]["images"] == 3
    page = browsing.list_images(app, "pets", state="labeled", label="dog")
    assert sorted(v.image.original_path for v in page.items) == [
        "dog/d0.png",
        "dog/d1.png",
        "dog/d2.png",
    ]


def test_bad_files_are_reported_and_the_rest_imported(app, tmp_path):
    src = tmp_path / "src"
    write_image(src / "good.jpg", seed=1)
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.jpg").write_text("this is not an image")
    whole = write_image(tmp_path / "whole.jpg", size=(200, 200), seed=2).read_bytes()
    (src / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    write_image(src / "really_png.jpg", seed=3, fmt="PNG")
    datasets.create_dataset(app, "mixed", "classification")
    report = importing.import_path(app, "mixed", src, format_name="folder")
    reasons = skipped(report)
    assert "empty" in reasons["empty.jpg"]
    assert "not an image" in reasons["notes.jpg"]
    assert "truncated" in reasons["truncated.jpg"] or "corrupt" in reasons["truncated.jpg"]
    assert report.imported == 2
    stored = {v.image.original_path: v.image for v in browsing.list_images(app, "mixed").items}
    assert stored["really_png.jpg"].file_format == "PNG"


def test_exif_rotated_photo_stores_the_displayed_size(app, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    img = Image.new("RGB", (60, 20), (10, 200, 10))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    img.save(src / "phone.jpg", exif=exif)
    datasets.create_dataset(app, "photos", "classification")
    importing.import_path(app, "photos", src, format_name="folder")
    image = browsing.list_images(app, "photos").items[0].image
    assert (image.width, image.height) == (20, 60)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size and holds no pixel data: refused before any decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("side", [11_000, 30_000])  # past our limit; past Pillow's own too
def test_decompression_bomb_is_refused(app, tmp_path, side):
    src = tmp_path / "src"
    src.mkdir()
    (src / "bomb.png").write_bytes(png_header_only(side, side))
    write_image(src / "ok.png", seed=4)
    datasets.create_dataset(app, "b", "classification")
    report = importing.import_path(app, "b", src, format_name="folder")
    assert "megapixel" in skipped(report)["bomb.png"]
    assert report.imported == 1


def test_duplicates_within_and_across_imports(app, tmp_path):
    src = tmp_path / "src"
    write_image(src / "a.png", seed=5)
    write_image(src / "copy_of_a.png", seed=5)
    write_image(src / "b.png", seed=6)
    datasets.create_dataset(app, "d", "classification")
    first = importing.import_path(app, "d", src, format_name="folder")
    assert first.imported == 2 and len(first.duplicates) == 1
    again = importing.import_path(app, "d", src, format_name="folder")
    assert again.imported == 0 and len(again.duplicates) == 3
    assert counts(app, "d")["total"] == 2


def test_reimport_with_a_different_label_changes_nothing_stored(app, tmp_path):
    src = tmp_path / "src"
    write_image(src / "cat" / "x.png", seed=7)
    write_image(src / "dog" / "y.png", seed=8)
    datasets.create_dataset(app, "p", "classification")
    importing.import_path(app, "p", src)
    other = tmp_path / "other"
    write_image(other / "dog" / "x.png", seed=7)  # same content, now claimed to be a dog
    write_image(other / "cat" / "y.png", seed=8)
    report = importing.import_path(app, "p", other)
    assert report.imported == 0 and len(report.duplicates) == 2
    labels = {
        v.image.original_path: v.annotation.label for v in browsing.list_images(app, "p").items
    }
    assert labels == {"cat/x.png": "cat", "dog/y.png": "dog"}


def test_wrong_task_type_is_refused_before_anything_is_stored(app, tmp_path):
    src = tmp_path / "src"
    write_image(src / "cat" / "x.png", seed=9)
    write_image(src / "dog" / "y.png", seed=10)
    datasets.create_dataset(app, "boxes", "detection")
    with pytest.raises(WrongTaskType, match="detection"):
        importing.import_path(app, "boxes", src, format_name="imagenet")
    assert counts(app, "boxes")["total"] == 0


def test_missing_path_and_plain_file(app, tmp_path):
    datasets.create_dataset(app, "x", "classification")
    with pytest.raises(InvalidInput, match="does not exist"):
        importing.import_path(app, "x", tmp_path / "nope")
    f = write_image(tmp_path / "single.png")
    with pytest.raises(InvalidInput, match=r"folder or a \.zip"):
        importing.import_path(app, "x", f)


def _voc(path, filename, size, objects):
    w, h = size
    body = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
        f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, x1, y1, x2, y2 in objects
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<annotation><filename>{filename}</filename><size><width>{w}</width>"
        f"<height>{h}</height><depth>3</depth></size>{body}</annotation>"
    )


def test_voc_boxes_outside_zero_sized_and_wrong_sizes(app, tmp_path):
    src = tmp_path / "voc"
    write_image(src / "JPEGImages" / "a.jpg", size=(100, 80), seed=11)
    write_image(src / "JPEGImages" / "b.jpg", size=(100, 80), seed=12)
    write_image(src / "JPEGImages" / "unlabeled.jpg", size=(100, 80), seed=13)
    _voc(
        src / "Annotations" / "a.xml",
        "a.jpg",
        (100, 80),
        [("cell", 10, 10, 30, 30), ("cell", 90, 70, 150, 120), ("cell", 40, 40, 40, 60)],
    )
    _voc(src / "Annotations" / "b.xml", "b.jpg", (640, 480), [("rbc", 5, 5, 25, 25)])
    _voc(src / "Annotations" / "ghost.xml", "ghost.jpg", (100, 80), [("cell", 1, 1, 5, 5)])
    datasets.create_dataset(app, "cells", "detection")
    report = importing.import_path(app, "cells", src)
    assert report.format == "voc"
    assert (report.imported, report.labeled, report.unlabeled) == (3, 2, 1)
    problems = " | ".join(p for _, p in report.warnings)
    assert "clipped" in problems  # partly outside: kept, clipped to the image
    assert "dropped" in problems or "zero" in problems  # zero width: dropped
    assert "640x480" in problems  # the file's size contradicts the image: the image wins
    assert any("ghost" in f for f, _ in report.skipped)  # missing image file
    views = {v.image.original_path: v for v in browsing.list_images(app, "cells").items}
    a_boxes = views["JPEGImages/a.jpg"].annotation.boxes
    assert len(a_boxes) == 2
    assert max(b.x + b.w for b in a_boxes) <= 100 and max(b.y + b.h for b in a_boxes) <= 80


def test_xml_entity_attack_is_refused_and_the_rest_imported(app, tmp_path):
    src = tmp_path / "voc"
    write_image(src / "JPEGImages" / "ok.jpg", size=(50, 50), seed=14)
    write_image(src / "JPEGImages" / "evil.jpg", size=(50, 50), seed=15)
    _voc(src / "Annotations" / "ok.xml", "ok.jpg", (50, 50), [("a", 1, 1, 20, 20)])
    (src / "Annotations" / "evil.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<annotation><filename>evil.jpg</filename><object><name>&lol2;</name>"
        "<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax><ymax>9</ymax></bndbox>"
        "</object></annotation>"
    )
    datasets.create_dataset(app, "x", "detection")
    report = importing.import_path(app, "x", src, format_name="voc")
    assert any("evil.xml" in f and "entit" in r.lower() for f, r in report.skipped), report.skipped
    assert "lol" not in datasets.get_dataset(app, "x").label_names()
    assert report.labeled == 1


def test_coco_unknown_category_and_bad_label_names(app, tmp_path):
    src = tmp_path / "coco"
    write_image(src / "images" / "a.jpg", size=(60, 60), seed=16)
    write_image(src / "images" / "b.jpg", size=(60, 60), seed=17)
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 60, "height": 60},
            {"id": 2, "file_name": "b.jpg", "width": 60, "height": 60},
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "<script>x</script>"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 99, "bbox": [5, 5, 10, 10]},
            {"id": 3, "image_id": 2, "category_id": 2, "bbox": [5, 5, 10, 10]},
        ],
    }
    (src / "annotations.json").write_text(json.dumps(data))
    datasets.create_dataset(app, "cars", "detection")
    report = importing.import_path(app, "cars", src)
    assert report.format == "coco"
    text = json.dumps(report.to_dict())
    assert "99" in text  # the unknown category is named
    assert "not allowed" in text  # the HTML label is refused
    assert datasets.get_dataset(app, "cars").label_names() == ["car"]


def test_yolo_class_out_of_range(app, tmp_path):
    src = tmp_path / "yolo"
    write_image(src / "images" / "a.jpg", size=(100, 50), seed=18)
    (src / "labels").mkdir(parents=True)
    (src / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n")
    (src / "classes.txt").write_text("bird\n")
    datasets.create_dataset(app, "birds", "detection")
    report = importing.import_path(app, "birds", src)
    assert report.format == "yolo"
    assert any("7" in p for _, p in report.warnings)
    box = browsing.list_images(app, "birds").items[0].annotation.boxes[0]
    assert (box.label, round(box.x), round(box.y), round(box.w), round(box.h)) == (
        "bird",
        40,
        20,
        20,
        10,
    )


def test_zip_with_hostile_entries(app, tmp_path):
    archive = tmp_path / "upload.zip"
    good = write_image(tmp_path / "g.png", seed=19).read_bytes()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cat/g.png", good)
        zf.writestr("../escape.png", good)
        zf.writestr("/abs/path.png", good)
        link = zipfile.ZipInfo("cat/link.png")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    datasets.create_dataset(app, "z", "classification")
    report = importing.import_path(app, "z", archive, format_name="folder")
    assert report.imported == 1
    names = " ".join(f for f, _ in report.skipped)
    assert "escape" in names and "abs" in names and "link" in names
    assert not (tmp_path / "escape.png").exists()
    assert not any(p.name == "escape.png" for p in tmp_path.parent.iterdir())


def test_a_symlink_in_the_folder_is_not_followed(app, tmp_path):
    src = tmp_path / "src"
    write_image(src / "real.png", seed=20)
    secret = write_image(tmp_path / "outside" / "secret.png", seed=21)
    os.symlink(secret, src / "link.png")
    datasets.create_dataset(app, "s", "classification")
    report = importing.import_path(app, "s", src, format_name="folder")
    assert report.imported == 1
    assert [v.image.original_path for v in browsing.list_images(app, "s").items] == ["real.png"]

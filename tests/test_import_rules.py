"""Import rules on a real database: wrapped archives, all-dropped annotations, annotations for
images already in the dataset, declared labels, YOLO clipping, sizes that contradict the image."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers.images import write_image
from labelloop.domain import Box, ImageState, TaskType, WrongTaskType
from labelloop.formats.base import Format, ImportContext, ImportItem
from labelloop.services import annotating, browsing, datasets, importing
from labelloop.storage import datasets_repo, images_repo


def views(app, name: str) -> dict[str, browsing.ImageView]:
    return {v.image.original_path: v for v in browsing.list_images(app, name).items}


def warnings_for(report, file: str) -> list[str]:
    return [problem for f, problem in report.warnings if f == file]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def voc_xml(path: Path, filename: str, size: tuple[int, int], objects) -> Path:
    body = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
        f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
        for name, x1, y1, x2, y2 in objects
    )
    return write(
        path,
        f"<annotation><filename>{filename}</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>{body}</annotation>",
    )


def zip_folder(folder: Path, archive: Path, *, junk: bool = True) -> Path:
    """What ``zip -r coll.zip coll`` makes (every entry under ``coll/``), plus macOS junk."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
        if junk:
            zf.writestr(f"__MACOSX/{folder.name}/._x.jpg", b"resource fork")
            zf.writestr(".DS_Store", b"finder")
            zf.writestr("Thumbs.db", b"windows")
    return archive


# --- 1. an archive whose entries sit under one wrapping folder ----------------------------------


def imagenet_layout(coll: Path) -> None:
    write_image(coll / "cat" / "c1.jpg", seed=1)
    write_image(coll / "cat" / "c2.jpg", seed=2)
    write_image(coll / "dog" / "d1.jpg", seed=3)


@pytest.mark.parametrize("format_name", ["auto", "imagenet"])
def test_wrapped_imagenet_zip_keeps_its_classes(app, tmp_path, format_name):
    imagenet_layout(tmp_path / "coll")
    archive = zip_folder(tmp_path / "coll", tmp_path / "coll.zip")
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", archive, format_name=format_name)
    assert report.format == "imagenet"
    assert (report.imported, report.labeled, report.unlabeled) == (3, 3, 0)
    assert datasets.get_dataset(app, "pets").label_names() == ["cat", "dog"]
    labels = {path: v.annotation.label for path, v in views(app, "pets").items()}
    assert labels == {"cat/c1.jpg": "cat", "cat/c2.jpg": "cat", "dog/d1.jpg": "dog"}


def test_wrapped_yolo_zip_keeps_its_boxes_and_class_names(app, tmp_path):
    coll = tmp_path / "coll"
    write_image(coll / "images" / "a.jpg", size=(100, 50), seed=4)
    write(coll / "labels" / "a.txt", "1 0.5 0.5 0.2 0.2\n")
    write(coll / "data.yaml", "names: [car, bird]\n")
    datasets.create_dataset(app, "birds", "detection")
    report = importing.import_path(app, "birds", zip_folder(coll, tmp_path / "coll.zip"))
    assert report.format == "yolo"
    assert (report.labeled, report.boxes) == (1, 1)
    [box] = views(app, "birds")["images/a.jpg"].annotation.boxes
    assert (box.label, round(box.x), round(box.w)) == ("bird", 40, 20)


def test_wrapped_voc_zip_and_a_doubly_wrapped_one(app, tmp_path):
    coll = tmp_path / "export" / "coll"
    write_image(coll / "JPEGImages" / "a.jpg", size=(60, 40), seed=5)
    voc_xml(coll / "Annotations" / "a.xml", "a.jpg", (60, 40), [("cell", 5, 5, 25, 25)])
    datasets.create_dataset(app, "cells", "detection")
    archive = zip_folder(tmp_path / "export", tmp_path / "export.zip")  # export/coll/...
    report = importing.import_path(app, "cells", archive)
    assert report.format == "voc"
    assert (report.labeled, report.boxes) == (1, 1)
    assert views(app, "cells")["JPEGImages/a.jpg"].annotation.boxes[0].label == "cell"


def test_a_zip_of_one_class_folder_is_not_unwrapped(app, tmp_path):
    # cat/*.jpg alone may be one class of an ImageNet layout: the folder name is its label.
    write_image(tmp_path / "cat" / "a.jpg", seed=6)
    write_image(tmp_path / "cat" / "b.jpg", seed=7)
    archive = zip_folder(tmp_path / "cat", tmp_path / "cat.zip")
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", archive, format_name="imagenet")
    assert (report.labeled, report.unlabeled) == (2, 0)
    assert datasets.get_dataset(app, "pets").label_names() == ["cat"]


def test_a_server_folder_is_taken_as_named(app, tmp_path):
    imagenet_layout(tmp_path / "outer" / "coll")
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", tmp_path / "outer", format_name="imagenet")
    assert {v.annotation.label for v in views(app, "pets").values()} == {"coll"}
    assert report.labeled == 3


# --- 2. an image whose annotations were all dropped is imported unlabeled -----------------------


def test_yolo_image_whose_lines_are_all_invalid_is_unlabeled(app, tmp_path):
    src = tmp_path / "yolo"
    write(src / "classes.txt", "bird\n")
    for seed, name in enumerate(["bad", "empty", "good"], start=10):
        write_image(src / "images" / f"{name}.jpg", size=(100, 50), seed=seed)
    write(src / "labels" / "bad.txt", "7 0.5 0.5 0.2 0.2\n0 0.5 0.5 0 0.1\n0 0.5 0.5 0.001 0.001\n")
    write(src / "labels" / "empty.txt", "")  # explicitly nothing there: a labeled negative
    write(src / "labels" / "good.txt", "0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n")
    datasets.create_dataset(app, "birds", "detection")
    report = importing.import_path(app, "birds", src)
    stored = views(app, "birds")
    assert stored["images/bad.jpg"].image.state is ImageState.UNLABELED
    assert stored["images/bad.jpg"].annotation is None
    [why] = [w for w in warnings_for(report, "images/bad.jpg") if "left unlabeled" in w]
    assert "all 3 box(es) in labels/bad.txt were dropped" in why
    assert "false negative" in why
    assert stored["images/empty.jpg"].image.state is ImageState.LABELED
    assert stored["images/empty.jpg"].annotation.boxes == ()
    assert len(stored["images/good.jpg"].annotation.boxes) == 1  # one of two kept: labeled
    assert (report.labeled, report.unlabeled) == (2, 1)


def test_voc_image_whose_objects_are_all_invalid_is_unlabeled(app, tmp_path):
    src = tmp_path / "voc"
    write_image(src / "JPEGImages" / "bad.jpg", size=(100, 80), seed=20)
    write_image(src / "JPEGImages" / "none.jpg", size=(100, 80), seed=21)
    voc_xml(
        src / "Annotations" / "bad.xml",
        "bad.jpg",
        (100, 80),
        [("cell", 40, 40, 40, 60), ("cell", 200, 200, 300, 300), ("", 1, 1, 9, 9)],
    )
    voc_xml(src / "Annotations" / "none.xml", "none.jpg", (100, 80), [])
    datasets.create_dataset(app, "cells", "detection")
    report = importing.import_path(app, "cells", src)
    stored = views(app, "cells")
    assert stored["JPEGImages/bad.jpg"].image.state is ImageState.UNLABELED
    [why] = [w for w in warnings_for(report, "JPEGImages/bad.jpg") if "left unlabeled" in w]
    assert "all 3 box(es) in Annotations/bad.xml were dropped" in why
    assert stored["JPEGImages/none.jpg"].image.state is ImageState.LABELED
    assert stored["JPEGImages/none.jpg"].annotation.boxes == ()


def test_coco_image_whose_boxes_are_all_invalid_is_unlabeled(app, tmp_path):
    src = tmp_path / "coco"
    for seed, name in enumerate(["bad.jpg", "none.jpg"], start=30):
        write_image(src / "images" / name, size=(60, 60), seed=seed)
    data = {
        "images": [
            {"id": 1, "file_name": "bad.jpg", "width": 60, "height": 60},
            {"id": 2, "file_name": "none.jpg", "width": 60, "height": 60},
        ],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [5, 5, 0, 10]},
            {"id": 2, "image_id": 1, "category_id": 99, "bbox": [5, 5, 10, 10]},
            {"id": 3, "image_id": 1, "category_id": 1, "bbox": [100, 100, 10, 10]},
        ],
    }
    write(src / "annotations.json", json.dumps(data))
    datasets.create_dataset(app, "cars", "detection")
    report = importing.import_path(app, "cars", src)
    stored = views(app, "cars")
    assert stored["images/bad.jpg"].image.state is ImageState.UNLABELED
    [why] = [w for w in warnings_for(report, "images/bad.jpg") if "left unlabeled" in w]
    assert "all 3 box(es) in annotations.json were dropped" in why
    assert stored["images/none.jpg"].image.state is ImageState.LABELED  # listed, no objects
    assert stored["images/none.jpg"].annotation.boxes == ()


# --- 3. annotations for images already in the dataset -------------------------------------------


def yolo_folder(root: Path, lines: dict[str, str], seeds: dict[str, int]) -> Path:
    write(root / "classes.txt", "bird\ncar\n")
    for name, seed in seeds.items():
        write_image(root / "images" / f"{name}.jpg", size=(100, 50), seed=seed)
        if name in lines:
            write(root / "labels" / f"{name}.txt", lines[name])
    return root


def make_to_confirm(app, dataset_name: str, path: str) -> int:
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        image = images_repo.resolve_image(session, dataset.id, path)
        car = datasets_repo.label_ids(session, dataset.id)["car"]
        images_repo.publish_predictions(
            session,
            dataset.id,
            None,
            "v1",
            [
                images_repo.NewPrediction(
                    image_id=image.id,
                    label_id=None,
                    score=0.6,
                    boxes=[(car, 1.0, 1.0, 20.0, 20.0, 0.6)],
                    hard=False,
                    hard_type="none",
                    hard_coefficient=0.2,
                    hard_reasons=[],
                    hints=[],
                )
            ],
        )
    return image.id


def test_images_first_annotations_later(app, tmp_path):
    seeds = {"u": 40, "t": 41, "l": 42, "same": 43, "plain": 44}
    datasets.create_dataset(app, "birds", "detection", ["bird", "car"])
    first = importing.import_path(
        app, "birds", yolo_folder(tmp_path / "images-only", {}, seeds), format_name="yolo"
    )
    assert (first.imported, first.unlabeled) == (5, 5)
    make_to_confirm(app, "birds", "images/t.jpg")
    annotating.annotate(app, "birds", "images/l.jpg", boxes=[])  # a person: no objects
    annotating.annotate(app, "birds", "images/same.jpg", boxes=[Box("bird", 40, 20, 20, 10)])

    box = "0 0.5 0.5 0.2 0.2\n"
    later = yolo_folder(
        tmp_path / "with-labels",
        {"u": box, "t": box, "l": box, "same": box},  # plain.jpg: still no label file
        seeds,
    )
    report = importing.import_path(app, "birds", later, format_name="yolo")
    assert report.imported == 0
    assert report.annotated_existing == 2  # u (unlabeled) and t (to confirm)
    assert report.to_dict()["annotated_existing"] == 2
    assert sorted(report.duplicates) == ["images/l.jpg", "images/plain.jpg", "images/same.jpg"]
    stored = views(app, "birds")
    for name in ("u", "t"):
        view = stored[f"images/{name}.jpg"]
        assert view.image.state is ImageState.LABELED
        assert [(b.label, round(b.x), round(b.w)) for b in view.annotation.boxes] == [
            ("bird", 40, 20)
        ]
        assert view.annotation.annotated_by == "import"
    assert stored["images/t.jpg"].prediction is None  # a person's label beats the proposal
    assert stored["images/l.jpg"].annotation.boxes == ()  # never overwritten
    [kept] = warnings_for(report, "images/l.jpg")
    assert "labels were kept" in kept and "labels/l.txt" in kept
    assert warnings_for(report, "images/same.jpg") == []  # same annotation: nothing to say
    assert stored["images/plain.jpg"].image.state is ImageState.UNLABELED
    assert datasets.dataset_overview(app, "birds").counts == {
        "unlabeled": 1,
        "to_confirm": 0,
        "labeled": 4,
        "total": 5,
    }


def test_a_duplicate_within_one_import_lends_its_annotation(app, tmp_path):
    # ImageNet, read in path order: the same picture unlabeled at the root, then in cat/;
    # another picture twice in cat/ and once more in dog/.
    src = tmp_path / "src"
    write_image(src / "loose.jpg", seed=50)
    write_image(src / "cat" / "copy.jpg", seed=50)
    write_image(src / "cat" / "x.jpg", seed=51)
    write_image(src / "cat" / "y.jpg", seed=51)
    write_image(src / "dog" / "z.jpg", seed=51)
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", src, format_name="imagenet")
    assert (report.imported, report.labeled, report.unlabeled) == (2, 1, 1)
    assert report.annotated_existing == 1
    assert report.duplicates == ["cat/y.jpg", "dog/z.jpg"]
    labels = {path: v.annotation.label for path, v in views(app, "pets").items()}
    assert labels == {"loose.jpg": "cat", "cat/x.jpg": "cat"}
    assert warnings_for(report, "cat/y.jpg") == []  # same label: a plain duplicate
    [kept] = warnings_for(report, "dog/z.jpg")
    assert "cat/x.jpg" in kept and "this import" in kept and "labels were kept" in kept


def test_classification_duplicate_of_a_labeled_image_keeps_its_label(app, tmp_path):
    write_image(tmp_path / "a" / "cat" / "x.png", seed=60)
    datasets.create_dataset(app, "p", "classification")
    importing.import_path(app, "p", tmp_path / "a", format_name="imagenet")
    write_image(tmp_path / "b" / "dog" / "x.png", seed=60)
    report = importing.import_path(app, "p", tmp_path / "b", format_name="imagenet")
    assert report.annotated_existing == 0 and report.duplicates == ["dog/x.png"]
    [kept] = warnings_for(report, "dog/x.png")
    assert "cat/x.png" in kept and "labels were kept" in kept
    assert views(app, "p")["cat/x.png"].annotation.label == "cat"


# --- 4, 5. declared labels ----------------------------------------------------------------------


def test_declared_labels_are_not_added_when_no_image_is_imported(app, tmp_path):
    src = tmp_path / "coco"
    write(src / "images" / "broken.jpg", "not an image")
    data = {
        "images": [{"id": 1, "file_name": "broken.jpg"}],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "bus"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
    }
    write(src / "annotations.json", json.dumps(data))
    datasets.create_dataset(app, "cars", "detection")
    report = importing.import_path(app, "cars", src)
    assert report.imported == 0 and "images/broken.jpg" in dict(report.skipped)
    assert report.labels_added == []
    assert datasets.get_dataset(app, "cars").label_names() == []

    write_image(src / "images" / "broken.jpg", size=(20, 20), seed=70)  # fixed: imports now
    report = importing.import_path(app, "cars", src)
    assert report.labels_added == ["car", "bus"]  # the declared order, unused "bus" included


def test_declared_labels_are_not_added_when_every_image_is_a_plain_duplicate(app, tmp_path):
    src = yolo_folder(tmp_path / "yolo", {}, {"a": 80})
    datasets.create_dataset(app, "birds", "detection")
    importing.import_path(app, "birds", src, format_name="folder")
    report = importing.import_path(app, "birds", src, format_name="yolo")
    assert report.duplicates == ["images/a.jpg"] and report.labels_added == []
    assert datasets.get_dataset(app, "birds").label_names() == []


class _DeclaresABadLabel(Format):
    """A format reader that declares a label no dataset accepts (importers validate theirs)."""

    name = "stub"
    task_types = (TaskType.CLASSIFICATION,)

    def __init__(self, image: Path):
        self.image = image

    def detect(self, root: Path) -> float:
        return 0.0

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        ctx.declare_label("<b>bad</b>", root / "classes.txt")
        ctx.declare_label("fine", root / "classes.txt")
        yield ImportItem(path=self.image, relative_path=self.image.name)

    def write(self, out, dataset, items):
        raise NotImplementedError


def test_label_not_added_warning_names_the_declaring_file(app, tmp_path, monkeypatch):
    image = write_image(tmp_path / "src" / "a.png", seed=90)
    monkeypatch.setattr(importing, "get_format", lambda name: _DeclaresABadLabel(image))
    datasets.create_dataset(app, "x", "classification")
    report = importing.import_path(app, "x", tmp_path / "src", format_name="stub")
    [file] = [f for f, p in report.warnings if "label not added" in p]
    assert file == "classes.txt"
    assert datasets.get_dataset(app, "x").label_names() == ["fine"]
    assert report.labels_added == ["fine"]


# --- 6. YOLO boxes that overshoot the image are clipped -----------------------------------------


def test_yolo_overshooting_box_is_clipped_and_pixels_are_dropped(app, tmp_path):
    src = tmp_path / "yolo"
    write(src / "classes.txt", "bird\n")
    write_image(src / "images" / "a.jpg", size=(100, 50), seed=100)
    lines = [
        "0 0.95 0.5 0.2 0.2",  # reaches x = 1.05: clipped to the border
        "0 0.1 0.1 0.4 0.4",  # starts at -0.1 on both axes: clipped
        "0 50 25 20 10",  # pixels
        "0 1.4 0.5 0.4 0.2",  # corner at 1.6: too far out to be a box of this image
    ]
    write(src / "labels" / "a.txt", "\n".join(lines) + "\n")
    datasets.create_dataset(app, "birds", "detection")
    report = importing.import_path(app, "birds", src)
    boxes = sorted(views(app, "birds")["images/a.jpg"].annotation.boxes, key=lambda b: b.x)
    assert [(round(b.x), round(b.y), round(b.w), round(b.h)) for b in boxes] == [
        (0, 0, 30, 15),
        (85, 20, 15, 10),
    ]
    problems = " | ".join(p for _, p in report.warnings)
    assert problems.count("clipped") == 2
    assert "line 3: values up to 50" in problems and "not pixels" in problems
    assert "line 4: corners" in problems and "far outside" in problems
    assert problems.count("not pixels") == 1


# --- 7. a COCO file whose sizes contradict the image --------------------------------------------


def test_coco_sizes_that_contradict_the_image_trust_the_image(app, tmp_path):
    src = tmp_path / "coco"
    write_image(src / "images" / "a.jpg", size=(60, 40), seed=110)
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        "categories": [{"id": 1, "name": "car"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]},
            {"id": 2, "image_id": 1, "category_id": 1, "bbox": [50, 30, 100, 100]},
        ],
    }
    write(src / "annotations.json", json.dumps(data))
    datasets.create_dataset(app, "cars", "detection")
    report = importing.import_path(app, "cars", src)
    view = views(app, "cars")["images/a.jpg"]
    assert (view.image.width, view.image.height) == (60, 40)
    problems = warnings_for(report, "images/a.jpg")
    assert any("640x480" in p and "60x40" in p and "image size is used" in p for p in problems)
    assert any("clipped" in p for p in problems)
    boxes = sorted(view.annotation.boxes, key=lambda b: b.x)
    assert [(b.x, b.y, b.w, b.h) for b in boxes] == [(10, 10, 20, 20), (50, 30, 10, 10)]


# --- auto-detection that falls back to a plain folder says what it left unread -----------------


def test_stray_files_in_class_folders_do_not_hide_the_classes(app, tmp_path):
    imagenet_layout(tmp_path / "coll")
    write(tmp_path / "coll" / "cat" / "notes.txt", "taken in the garden")
    write(tmp_path / "coll" / "dog" / "meta.json", "{}")
    datasets.create_dataset(app, "pets", "classification")
    report = importing.import_path(app, "pets", tmp_path / "coll")
    assert (report.format, report.labeled) == ("imagenet", 3)


def test_an_unreadable_annotation_file_is_named_when_images_import_unlabeled(app, tmp_path):
    folder = tmp_path / "cells"
    write_image(folder / "a.jpg", seed=1)
    write_image(folder / "b.jpg", seed=2)
    write(folder / "annotations.json", '{"images": [{"id": 1, "file_name": "a.jpg", "wid')  # cut
    datasets.create_dataset(app, "cells", "detection", ["rbc"])
    report = importing.import_path(app, "cells", folder)
    assert (report.format, report.unlabeled) == ("folder", 2)
    (warning,) = warnings_for(report, "annotations.json")
    assert "no format could read it" in warning and "--format coco" in warning
    named = importing.import_path(app, "cells", folder, format_name="coco")
    assert named.skipped and "annotations.json" in named.skipped[0][0]


def test_one_class_folder_named_like_a_label_is_pointed_out(app, tmp_path):
    write_image(tmp_path / "in" / "shoes" / "s1.jpg", seed=1)
    datasets.create_dataset(app, "wear", "classification", ["shoes", "hats"])
    report = importing.import_path(app, "wear", tmp_path / "in")
    assert report.unlabeled == 1
    assert "--format imagenet" in warnings_for(report, "shoes/")[0]
    again = importing.import_path(app, "wear", tmp_path / "in", format_name="imagenet")
    assert again.annotated_existing == 1


def test_a_manifest_of_the_other_task_type_is_refused_whole(app, tmp_path):
    folder = tmp_path / "m"
    lines = []
    for n in range(3):
        write_image(folder / f"i{n}.jpg", seed=n)
        annotation = {"type": "modelarts/image_classification", "name": "cat"}
        lines.append(json.dumps({"source": f"i{n}.jpg", "annotation": [annotation]}))
    write(folder / "data.manifest", "\n".join(lines) + "\n")
    datasets.create_dataset(app, "cells", "detection", ["rbc"])
    with pytest.raises(WrongTaskType, match=r"holds classification annotations.*Nothing was"):
        importing.import_path(app, "cells", folder)
    assert datasets.dataset_overview(app, "cells").counts["total"] == 0
    assert datasets.get_dataset(app, "cells").label_names() == ["rbc"]


def test_a_label_differing_only_by_case_joins_the_dataset_label(app, tmp_path):
    # Another tool wrote "rbc" where the dataset says "RBC": one class, not two labels.
    write_image(tmp_path / "v" / "a.jpg", size=(60, 40), seed=1)
    voc_xml(tmp_path / "v" / "a.xml", "a.jpg", (60, 40), [("rbc", 5, 5, 20, 20)])
    datasets.create_dataset(app, "cells", "detection", ["RBC", "WBC"])
    report = importing.import_path(app, "cells", tmp_path / "v", format_name="voc")
    assert report.labels_added == []
    assert ("a.xml", "label 'rbc' is taken as the dataset's 'RBC'") in report.warnings
    assert datasets.get_dataset(app, "cells").label_names() == ["RBC", "WBC"]
    (view,) = views(app, "cells").values()
    assert [b.label for b in view.annotation.boxes] == ["RBC"]

"""Auto-detection across all seven formats: each layout is taken for the right format.

Formats written in parallel may not exist yet; their cases skip (``pytest.importorskip``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from contract import available_formats
from helpers.format_samples import build_sample
from helpers.images import write_image
from labelloop.domain import InvalidInput, TaskType
from labelloop.formats import FORMAT_NAMES, detect_format, get_format

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


def _require(name: str) -> None:
    module = pytest.importorskip(f"labelloop.formats.{name}")
    if not hasattr(module, "FORMAT"):
        pytest.skip(f"format {name} is not finished yet (no FORMAT)")


def detected(root: Path) -> str:
    """The format ``detect_format`` picks, ranking the formats present (same tie rule)."""
    present = available_formats()
    if len(present) == len(FORMAT_NAMES):
        return detect_format(root).name
    scored = [(fmt.detect(root), fmt) for fmt in present]
    score, best = max(scored, key=lambda pair: (pair[0], pair[1].name != "folder"))
    if score <= 0:
        raise InvalidInput(f"no images or known annotation files found under {root}")
    return best.name


# --- every format's own export ---------------------------------------------------------------

_TASKS = {
    "folder": TaskType.CLASSIFICATION,
    "imagenet": TaskType.CLASSIFICATION,
    "coco": TaskType.DETECTION,
    "voc": TaskType.DETECTION,
    "yolo": TaskType.DETECTION,
    "manifest": TaskType.CLASSIFICATION,
    "labelstudio": TaskType.DETECTION,
}


@pytest.mark.parametrize("name", FORMAT_NAMES)
def test_own_export_is_detected(name, tmp_path):
    _require(name)
    sample = build_sample(tmp_path / "store", _TASKS[name])
    out = tmp_path / "out"
    get_format(name).write(out, sample.info, iter(sample.items))
    assert detected(out) == name


def test_manifest_detection_export_is_detected(tmp_path):
    _require("manifest")
    sample = build_sample(tmp_path / "store", TaskType.DETECTION)
    get_format("manifest").write(tmp_path / "out", sample.info, iter(sample.items))
    assert detected(tmp_path / "out") == "manifest"


def test_labelstudio_classification_export_is_detected(tmp_path):
    sample = build_sample(tmp_path / "store", TaskType.CLASSIFICATION)
    get_format("labelstudio").write(tmp_path / "out", sample.info, iter(sample.items))
    assert detected(tmp_path / "out") == "labelstudio"


# --- layouts as other tools write them --------------------------------------------------------


def _flat_images(root: Path) -> None:
    for seed in range(3):
        write_image(root / f"IMG_{seed}.jpg", seed=seed)
    (root / "README.md").write_text("photos")


def _nested_images(root: Path) -> None:
    write_image(root / "2024" / "may" / "a.jpg", seed=1)


def _class_folders(root: Path) -> None:
    for label in ("cat", "dog", "red fox"):
        write_image(root / label / f"{label}.jpg", seed=len(label))
    (root / "LICENSE").write_text("CC0")


def _class_folders_in_splits(root: Path) -> None:
    for split in ("train", "val"):
        for label in ("cat", "dog"):
            write_image(root / split / label / "x.png", seed=len(split + label))


def _coco_plain(root: Path) -> None:
    write_image(root / "images" / "a.jpg", seed=1)
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 40, "height": 30}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": "car"}],
    }
    (root / "annotations.json").write_text(json.dumps(data))


def _coco_roboflow(root: Path) -> None:
    for split in ("train", "valid", "test"):
        write_image(root / split / f"{split}.jpg", seed=len(split))
        data = {
            "images": [{"id": 0, "file_name": f"{split}.jpg"}],
            "annotations": [],
            "categories": [{"id": 0, "name": "cards"}],
        }
        (root / split / "_annotations.coco.json").write_text(json.dumps(data))


def _coco_devkit(root: Path) -> None:
    write_image(root / "val2017" / "000000000139.jpg", seed=1)
    data = {"images": [{"id": 139, "file_name": "000000000139.jpg"}], "annotations": []}
    data["categories"] = [{"id": 1, "name": "person"}]
    (root / "annotations").mkdir()
    (root / "annotations" / "instances_val2017.json").write_text(json.dumps(data))


def _labelstudio_upload(root: Path) -> None:
    write_image(root / "a.jpg", seed=1)
    task = {
        "id": 1,
        "data": {"image": "/data/upload/1/5d1e2f3a-a.jpg"},
        "annotations": [{"result": [{"type": "choices", "value": {"choices": ["cat"]}}]}],
    }
    (root / "project-1-at-2024-05-01-10-00-5d1e2f3a.json").write_text(json.dumps([task]))


def _voc(root: Path) -> None:
    write_image(root / "JPEGImages" / "a.jpg", seed=1)
    (root / "Annotations").mkdir()
    (root / "Annotations" / "a.xml").write_text(
        "<annotation><filename>a.jpg</filename><size><width>40</width><height>30</height>"
        "</size><object><name>car</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>9</xmax>"
        "<ymax>9</ymax></bndbox></object></annotation>"
    )


def _yolo(root: Path) -> None:
    write_image(root / "images" / "a.jpg", seed=1)
    write_image(root / "images" / "b.jpg", seed=2)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.3\n")
    (root / "labels" / "b.txt").write_text("")
    (root / "classes.txt").write_text("car\n")


def _manifest(root: Path) -> None:
    write_image(root / "a.jpg", seed=1)
    record = {
        "source": "s3://bucket/a.jpg",
        "annotation": [{"type": "modelarts/image_classification", "name": "cat"}],
    }
    (root / "output.manifest").write_text(json.dumps(record) + "\n")


LAYOUTS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "flat images": ("folder", _flat_images),
    "nested images": ("folder", _nested_images),
    "class folders": ("imagenet", _class_folders),
    "class folders in splits": ("imagenet", _class_folders_in_splits),
    "coco annotations.json": ("coco", _coco_plain),
    "coco roboflow splits": ("coco", _coco_roboflow),
    "coco devkit": ("coco", _coco_devkit),
    "label studio upload export": ("labelstudio", _labelstudio_upload),
    "pascal voc devkit": ("voc", _voc),
    "yolo images/labels": ("yolo", _yolo),
    "modelarts manifest": ("manifest", _manifest),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_layout_is_detected(layout, tmp_path):
    expected, build = LAYOUTS[layout]
    _require(expected)
    build(tmp_path)
    assert detected(tmp_path) == expected


def test_a_folder_without_images_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InvalidInput):
        detected(tmp_path)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dataset", "expected"),
    [
        ("clothing_small", "imagenet"),
        ("sign_digits", "imagenet"),
        ("bccd", "voc"),
        ("playing_cards_voc", "voc"),
    ],
)
def test_real_datasets_are_detected(dataset, expected):
    root = SHARED_DATA / dataset
    if not root.is_dir():
        pytest.skip(f"real dataset {dataset} not found at {root} (../shared/data is absent)")
    _require(expected)
    assert detected(root) == expected

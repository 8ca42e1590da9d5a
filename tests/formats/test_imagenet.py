"""The ``imagenet`` format: class folders, ``_unlabeled/``, labels.txt, predictions.json."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from contract import FormatContract, read_all
from helpers.format_samples import build_sample
from helpers.images import write_image
from labelloop.domain import TaskType
from labelloop.formats import get_format
from labelloop.formats.base import CONFIDENCE_CERTAIN, CONFIDENCE_LIKELY, CONFIDENCE_NONE
from labelloop.formats.imagenet._layout import folder_name_for, label_for

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"


class TestImagenetContract(FormatContract):
    format_name = "imagenet"
    task_type = TaskType.CLASSIFICATION
    reports_symlinks = True


@pytest.fixture
def fmt():
    return get_format("imagenet")


def test_reads_class_folders_and_root_images_unlabeled(fmt, tmp_path):
    write_image(tmp_path / "cat" / "1.jpg", seed=1)
    write_image(tmp_path / "cat" / "2.jpg", seed=2)
    write_image(tmp_path / "dog" / "nested" / "3.png", seed=3)  # deeper keeps the class
    write_image(tmp_path / "loose.jpg", seed=4)
    (tmp_path / "empty class").mkdir()
    items, ctx = read_all(fmt, tmp_path)
    by_path = {i.relative_path: i.label for i in items}
    assert by_path == {
        "cat/1.jpg": "cat",
        "cat/2.jpg": "cat",
        "dog/nested/3.png": "dog",
        "loose.jpg": None,
    }
    assert ctx.declared_labels == ["cat", "dog", "empty class"]
    assert ctx.errors == []
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY


def test_stray_files_are_reported_not_fatal(fmt, tmp_path):
    write_image(tmp_path / "cat" / "1.jpg", seed=1)
    write_image(tmp_path / "dog" / "2.jpg", seed=2)
    for name in ("LICENSE", "README.md", "index.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "cat" / "Thumbs.db").write_bytes(b"\0\1")
    (tmp_path / ".DS_Store").write_bytes(b"\0")
    items, ctx = read_all(fmt, tmp_path)
    assert len(items) == 2
    assert sorted(e.path for e in ctx.errors) == [
        "LICENSE",
        "README.md",
        "cat/Thumbs.db",
        "index.csv",
    ]
    assert all("not an image file" in e.problem for e in ctx.errors)
    # a CSV or README beside the classes does not stop detection
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY


def test_split_folders_are_not_classes(fmt, tmp_path):
    write_image(tmp_path / "train" / "cat" / "1.jpg", seed=1)
    write_image(tmp_path / "train" / "dog" / "2.jpg", seed=2)
    write_image(tmp_path / "val" / "cat" / "3.jpg", seed=3)
    write_image(tmp_path / "val" / "4.jpg", seed=4)
    items, ctx = read_all(fmt, tmp_path)
    assert {i.relative_path: i.label for i in items} == {
        "train/cat/1.jpg": "cat",
        "train/dog/2.jpg": "dog",
        "val/cat/3.jpg": "cat",
        "val/4.jpg": None,
    }
    assert ctx.declared_labels == ["cat", "dog"]
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY


def test_a_class_named_like_a_split_beside_real_classes_stays_a_class(fmt, tmp_path):
    write_image(tmp_path / "test" / "1.jpg", seed=1)
    write_image(tmp_path / "cat" / "2.jpg", seed=2)
    items, _ = read_all(fmt, tmp_path)
    assert {i.label for i in items} == {"test", "cat"}


def test_invalid_class_folder_names_are_reported_once(fmt, tmp_path):
    long_name = "x" * 65
    for folder in ("<b>bold", long_name, "ok"):
        write_image(tmp_path / folder / "1.jpg", seed=len(folder))
        write_image(tmp_path / folder / "2.jpg", seed=len(folder) + 100)
    items, ctx = read_all(fmt, tmp_path)
    assert {i.label for i in items} == {"ok"}
    assert sorted(e.path for e in ctx.errors) == ["<b>bold", long_name]
    assert any("not allowed" in e.problem for e in ctx.errors)
    assert any("64" in e.problem for e in ctx.errors)


def test_labels_file_orders_labels_and_reports_bad_lines(fmt, tmp_path):
    write_image(tmp_path / "b" / "1.jpg", seed=1)
    write_image(tmp_path / "a" / "2.jpg", seed=2)
    (tmp_path / "labels.txt").write_text("b\n\n<script>\nunused\na\n", encoding="utf-8")
    _, ctx = read_all(fmt, tmp_path)
    assert ctx.declared_labels == ["b", "unused", "a"]
    assert [(w.path, "line 3" in w.problem) for w in ctx.warnings] == [("labels.txt", True)]
    assert fmt.detect(tmp_path) == CONFIDENCE_CERTAIN


def test_awkward_labels_survive_as_folder_names(fmt, tmp_path):
    labels = ("9/10", ".net", "100%", "a\\b", "_unlabeled", "%2F")
    for label in labels:
        name = folder_name_for(label)
        assert "/" not in name and "\\" not in name and not name.startswith(".")
        assert name != "_unlabeled"
        assert label_for(name) == label
    sample = build_sample(tmp_path / "store", TaskType.CLASSIFICATION)
    from dataclasses import replace

    items = [
        replace(item, label=labels[i % len(labels)]) if item.labeled else item
        for i, item in enumerate(sample.items)
    ]
    out = tmp_path / "out"
    fmt.write(out, replace(sample.info, labels=labels), iter(items))
    read, ctx = read_all(fmt, out)
    assert ctx.errors == []
    assert ctx.declared_labels == list(labels)
    assert Counter(i.label for i in read) == Counter(i.label if i.labeled else None for i in items)


def test_export_puts_waiting_images_in_unlabeled_with_predictions(fmt, tmp_path):
    sample = build_sample(tmp_path / "store", TaskType.CLASSIFICATION)
    out = tmp_path / "out"
    report = fmt.write(out, sample.info, iter(sample.items))
    assert report.images == len(sample.items)
    assert report.files == ["labels.txt", "predictions.json"]
    unlabeled = sorted(p.name for p in (out / "_unlabeled").iterdir())
    assert unlabeled == ["pending.jpg", "u2.jpg", "unlabeled one.png"]
    assert (out / "unused").is_dir() and not any((out / "unused").iterdir())
    assert sorted(p.name for p in (out / "dog").iterdir())[0].startswith("cat1")
    predictions = json.loads((out / "predictions.json").read_text(encoding="utf-8"))
    assert predictions == [
        {
            "file": "_unlabeled/pending.jpg",
            "original_path": "pending.jpg",
            "label": "dog",
            "score": 0.73,
            "hard": True,
            "hard_coefficient": 0.61,
            "hard_reasons": [{"code": 1, "text": "low confidence"}],
            "model_version": "v3",
            "job_id": 7,
            "annotated_by": "labelloop/active-learning",
        }
    ]


def test_detect_steps_aside_for_annotation_files(fmt, tmp_path):
    write_image(tmp_path / "images" / "1.jpg", seed=1)
    write_image(tmp_path / "more" / "2.jpg", seed=2)
    assert fmt.detect(tmp_path) == CONFIDENCE_LIKELY
    (tmp_path / "annotations.json").write_text("{}")
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE


def test_one_image_folder_is_not_a_class_dataset(fmt, tmp_path):
    write_image(tmp_path / "images" / "1.jpg", seed=1)
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE


def test_symlinked_class_folder_is_reported(fmt, tmp_path):
    root = tmp_path / "root"
    write_image(root / "cat" / "1.jpg", seed=1)
    write_image(tmp_path / "elsewhere" / "2.jpg", seed=2)
    os.symlink(tmp_path / "elsewhere", root / "dog", target_is_directory=True)
    items, ctx = read_all(fmt, root)
    assert [i.relative_path for i in items] == ["cat/1.jpg"]
    assert [e.path for e in ctx.errors] == ["dog"]
    assert "dog" not in ctx.declared_labels


# --- real datasets (design: ../shared/data) ----------------------------------------------------


def _real(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path} (../shared/data is absent)")
    return path


@pytest.mark.realdata
def test_reads_clothing_small(fmt):
    root = _real("clothing_small")
    assert fmt.detect(root) == CONFIDENCE_LIKELY
    items, ctx = read_all(fmt, root)
    counts = Counter(i.label for i in items)
    assert counts == {
        "dress": 150,
        "hat": 149,
        "longsleeve": 150,
        "outwear": 150,
        "pants": 150,
        "shirt": 150,
        "shoes": 150,
        "shorts": 150,
        "skirt": 136,
        "t-shirt": 150,
    }
    _only_stray_file_errors(ctx, root)


@pytest.mark.realdata
def test_reads_sign_digits(fmt):
    root = _real("sign_digits")
    assert fmt.detect(root) == CONFIDENCE_LIKELY
    items, ctx = read_all(fmt, root)
    counts = Counter(i.label for i in items)
    assert sorted(counts) == [str(d) for d in range(10)]
    assert sum(counts.values()) == 2062
    assert all(195 <= n <= 215 for n in counts.values()), counts
    _only_stray_file_errors(ctx, root)


def _only_stray_file_errors(ctx, root: Path) -> None:
    for issue in ctx.errors:
        path = root / issue.path
        assert path.is_file() and "not an image file" in issue.problem, issue
    assert ctx.warnings == []

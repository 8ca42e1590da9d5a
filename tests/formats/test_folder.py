"""The ``folder`` format: every image under the root, unlabeled; export writes images only."""

from __future__ import annotations

import os

import pytest

from contract import FormatContract, read_all
from helpers.images import write_image
from labelloop.domain import TaskType
from labelloop.formats import get_format
from labelloop.formats.base import CONFIDENCE_NONE, CONFIDENCE_WEAK


class TestFolderContractClassification(FormatContract):
    format_name = "folder"
    task_type = TaskType.CLASSIFICATION
    carries_annotations = False
    declares_all_labels = False
    reports_symlinks = True


class TestFolderContractDetection(TestFolderContractClassification):
    task_type = TaskType.DETECTION


@pytest.fixture
def fmt():
    return get_format("folder")


def test_reads_images_at_any_depth_unlabeled(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    write_image(tmp_path / "x" / "y" / "b c.png", seed=2)
    write_image(tmp_path / "Ü" / "d.JPEG", seed=3)
    items, ctx = read_all(fmt, tmp_path)
    assert sorted(i.relative_path for i in items) == ["a.jpg", "x/y/b c.png", "Ü/d.JPEG"]
    assert all(i.label is None and i.boxes is None for i in items)
    assert ctx.errors == []


def test_reports_files_that_are_not_images(fmt, tmp_path):
    write_image(tmp_path / "a.jpg", seed=1)
    (tmp_path / "LICENSE").write_text("MIT")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "notes.csv").write_text("a,b")
    (tmp_path / ".DS_Store").write_bytes(b"\0")  # hidden: system metadata, left out silently
    items, ctx = read_all(fmt, tmp_path)
    assert [i.relative_path for i in items] == ["a.jpg"]
    assert sorted(e.path for e in ctx.errors) == ["LICENSE", "sub/notes.csv"]
    assert all("not an image file" in e.problem for e in ctx.errors)


def test_symlinks_are_reported_as_skipped(fmt, tmp_path):
    root = tmp_path / "root"
    write_image(root / "a.jpg", seed=1)
    outside = write_image(tmp_path / "secret.jpg", seed=2)
    os.symlink(outside, root / "link.jpg")
    os.symlink(tmp_path, root / "loop", target_is_directory=True)
    items, ctx = read_all(fmt, root)
    assert [i.relative_path for i in items] == ["a.jpg"]
    assert {e.path for e in ctx.errors} == {"link.jpg", "loop"}
    assert all("symbolic link" in e.problem for e in ctx.errors)


def test_detect_is_weak_with_images_and_none_without(fmt, tmp_path):
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE
    (tmp_path / "readme.txt").write_text("hi")
    assert fmt.detect(tmp_path) == CONFIDENCE_NONE
    write_image(tmp_path / "deep" / "a.png")
    assert fmt.detect(tmp_path) == CONFIDENCE_WEAK


def test_export_is_flat_with_unique_original_names(fmt, tmp_path):
    from helpers.format_samples import build_sample

    sample = build_sample(tmp_path / "store", TaskType.CLASSIFICATION)
    out = tmp_path / "out"
    report = fmt.write(out, sample.info, iter(sample.items))
    names = sorted(p.name for p in out.iterdir())
    assert report.images == len(sample.items) == len(names)
    assert all(p.is_file() for p in out.iterdir())
    assert "cat1.jpg" in names
    assert any(n.startswith("cat1-") and n.endswith(".jpg") for n in names)
    assert "my photo ü.png" in names

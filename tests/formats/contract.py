"""The round-trip contract every format passes (datumaro style): inherit ``FormatContract``.

A format's test module subclasses it and sets the class attributes::

    from contract import FormatContract

    class TestCocoContract(FormatContract):
        format_name = "coco"
        task_type = TaskType.DETECTION

The base class is not collected itself (no ``Test`` prefix). Its ``sample`` fixture is the tiny
dataset of ``helpers.format_samples`` (override it to test something format-specific). The
checks: ``detect()`` picks the format on its own export; export -> read -> export -> read keeps
the same image files (by sha256), labels, boxes (within ``box_tolerance`` px) and
labeled/unlabeled split; exported images keep their original file names; mangled annotation
files, hostile folders and symbolic links never crash ``detect()`` or ``read()``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from importlib import import_module
from pathlib import Path

import pytest

from helpers.format_samples import Sample, build_sample
from helpers.images import sha256_file, write_image
from labelloop.domain import Box, TaskType
from labelloop.formats import FORMAT_NAMES, get_format
from labelloop.formats.base import (
    MAX_ANNOTATION_FILE_BYTES,
    ExportItem,
    Format,
    ImportContext,
    ImportItem,
)
from labelloop.imaging import looks_like_image, probe_image

__all__ = [
    "FormatContract",
    "annotations_by_sha",
    "available_formats",
    "read_all",
    "to_export_items",
]

# (label, boxes) of one image as a format read it; both None = unlabeled.
Annotation = tuple[str | None, tuple[Box, ...] | None]


# --- helpers (also useful to format-specific tests) -----------------------------------------


def read_all(fmt: Format, root: Path) -> tuple[list[ImportItem], ImportContext]:
    ctx = ImportContext(root=root)
    return list(fmt.read(root, ctx)), ctx


def to_export_items(items: list[ImportItem]) -> list[ExportItem]:
    """What the import service would store for ``items``, as the exporter receives it back.

    Sizes come from probing the images (as the service does); normalized boxes become pixels.
    """
    exported = []
    for item in items:
        info = probe_image(item.path)
        boxes = item.pixel_boxes(info.width, info.height)
        labeled = item.label is not None or boxes is not None
        exported.append(
            ExportItem(
                file=item.path,
                original_path=item.relative_path,
                width=info.width,
                height=info.height,
                state="labeled" if labeled else "unlabeled",
                sha256=sha256_file(item.path),
                label=item.label,
                boxes=tuple(boxes) if boxes is not None else None,
            )
        )
    return exported


def annotations_by_sha(items: list[ImportItem]) -> dict[str, Annotation]:
    """Each image's annotation keyed by the sha256 of its file (boxes in pixels, sorted)."""
    result: dict[str, Annotation] = {}
    for item in items:
        info = probe_image(item.path)
        boxes = item.pixel_boxes(info.width, info.height)
        sha = sha256_file(item.path)
        assert sha not in result, f"{item.relative_path} read twice (or same content twice)"
        result[sha] = (item.label, _sorted_boxes(boxes) if boxes is not None else None)
    return result


def available_formats() -> list[Format]:
    """The registered formats whose subpackage exists yet (others are written in parallel)."""
    found = []
    for name in FORMAT_NAMES:
        try:
            module = import_module(f"labelloop.formats.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"labelloop.formats.{name}":
                raise
            continue
        if hasattr(module, "FORMAT"):
            found.append(module.FORMAT)
    return found


def _sorted_boxes(boxes: list[Box] | tuple[Box, ...]) -> tuple[Box, ...]:
    return tuple(sorted(boxes, key=lambda b: (b.label, round(b.x), round(b.y), b.w, b.h)))


def _boxes_close(a: tuple[Box, ...], b: tuple[Box, ...], tolerance: float) -> bool:
    if len(a) != len(b):
        return False
    return all(
        x.label == y.label
        and all(
            math.isclose(p, q, abs_tol=tolerance)
            for p, q in ((x.x, y.x), (x.y, y.y), (x.w, y.w), (x.h, y.h))
        )
        for x, y in zip(a, b, strict=True)
    )


def _non_image_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and not looks_like_image(p)]


def _image_files(root: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and looks_like_image(p)]


def _assert_items_safe(items: list[ImportItem], root: Path) -> None:
    """Every yielded image is a regular file inside ``root`` reached without a link."""
    real_root = root.resolve()
    for item in items:
        assert isinstance(item, ImportItem)
        assert not item.path.is_symlink(), f"{item.path} is a symbolic link"
        assert item.path.resolve().is_relative_to(real_root), f"{item.path} is outside {root}"
        assert item.path.is_file(), f"{item.path} is not a file"
        for parent in item.path.parents:
            if parent == root or not parent.is_relative_to(root):
                break
            assert not parent.is_symlink(), f"{item.path} was reached through a link"


def _assert_issues_well_formed(ctx: ImportContext) -> None:
    for issue in [*ctx.errors, *ctx.warnings]:
        assert isinstance(issue.problem, str) and issue.problem.strip()
        assert isinstance(issue.path, str)


# --- how annotation files get mangled ---------------------------------------------------------

_BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<annotation><filename>&lol3;</filename></annotation>"
)


def _oversize(path: Path) -> None:
    # A sparse file: its size is over the limit without writing half a gigabyte.
    with path.open("r+b") as handle:
        handle.truncate(MAX_ANNOTATION_FILE_BYTES + 1)


MANGLES: dict[str, Callable[[Path], None]] = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: max(1, p.stat().st_size // 2)]),
    "garbage": lambda p: p.write_bytes(b"\x00\xff{<[garbage \x89PNG\r\n"),
    "invalid_utf8": lambda p: p.write_bytes(b'{"a": "\xff\xfe\xfa"}\n<a>\xff</a>\n0 \xff 1 2\n'),
    "empty": lambda p: p.write_bytes(b""),
    "json_null": lambda p: p.write_text("null"),
    "json_empty_object": lambda p: p.write_text("{}"),
    "json_wrong_types": lambda p: p.write_text(
        '{"images": "x", "annotations": 5, "categories": null, "data": [1], "source": 3}'
    ),
    "json_list_of_junk": lambda p: p.write_text('[1, "a", null, {"data": 5}, {"data": {}}]'),
    "deep_nesting": lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
    "nan_and_huge_numbers": lambda p: p.write_text(
        p.read_text(encoding="utf-8", errors="replace")
        .replace("1", "NaN")
        .replace("2", "1e999")
        .replace("3", "-5")
    ),
    "billion_laughs": lambda p: p.write_text(_BILLION_LAUGHS),
    "oversized": _oversize,
}
# Mangles after which a format must say something (an error or a warning) about the file.
MUST_REPORT = ("garbage", "invalid_utf8", "deep_nesting", "oversized")


# --- hostile folders, format-agnostic ----------------------------------------------------------


def _tree_empty(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)


def _tree_only_stray_files(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "LICENSE").write_text("MIT")
    (root / "README.md").write_text("# data")
    (root / "notes.csv").write_text("a,b\n1,2\n")


def _tree_odd_entries(root: Path) -> None:
    (root / "photo.jpg").mkdir(parents=True)  # a folder named like an image
    (root / "empty.jpg").write_bytes(b"")
    (root / "not really.png").write_text("hello")
    write_image(root / "cls" / "ok.jpg", seed=3)
    write_image(root / "cls" / "line\nbreak.jpg", seed=4)


def _tree_json_and_xml_bombs(root: Path) -> None:
    write_image(root / "images" / "a.jpg", seed=5)
    nested = "[" * 100_000 + "]" * 100_000
    for name in ("annotations.json", "result.json", "_annotations.coco.json", "a.manifest"):
        (root / name).write_text(nested)
    (root / "images" / "a.xml").write_text(_BILLION_LAUGHS)
    (root / "images" / "a.txt").write_text("0 nan inf -1 1e999\n")


HOSTILE_TREES: dict[str, Callable[[Path], None]] = {
    "empty": _tree_empty,
    "only_stray_files": _tree_only_stray_files,
    "odd_entries": _tree_odd_entries,
    "json_and_xml_bombs": _tree_json_and_xml_bombs,
}


# --- the contract --------------------------------------------------------------------------


class FormatContract:
    """Checks every format passes; subclasses set the attributes below."""

    format_name: str = ""
    task_type: TaskType = TaskType.CLASSIFICATION
    # False for formats that hold no annotation at all (``folder``): everything reads unlabeled.
    carries_annotations: bool = True
    # The export declares every dataset label, used or not, in the dataset's order.
    declares_all_labels: bool = True
    # Symbolic links met while reading are reported as skipped (not only ignored).
    reports_symlinks: bool = False
    # Percent- or fraction-based formats round coordinates.
    box_tolerance: float = 0.5

    # -- fixtures

    @pytest.fixture
    def fmt(self) -> Format:
        return get_format(self.format_name)

    @pytest.fixture
    def sample(self, tmp_path: Path) -> Sample:
        return build_sample(tmp_path / "store", self.task_type)

    @pytest.fixture
    def exported(self, fmt: Format, sample: Sample, tmp_path: Path) -> Path:
        out = tmp_path / "export-1"
        # A generator, as the export service streams pages from the database.
        fmt.write(out, sample.info, (item for item in sample.items))
        return out

    # -- detect

    def test_detect_picks_this_format_on_its_own_export(self, fmt: Format, exported: Path):
        scores = {other.name: other.detect(exported) for other in available_formats()}
        mine = scores[fmt.name]
        assert mine > 0, f"{fmt.name}.detect() does not recognise its own export"
        for name, score in scores.items():
            if name == fmt.name:
                continue
            if name == "folder":  # folder is the fallback and loses ties
                assert mine >= score, scores
            else:
                assert mine > score, f"{name} claims a {fmt.name} export as strongly: {scores}"

    def test_detect_returns_a_confidence_for_any_folder(self, fmt: Format, tmp_path: Path):
        for name, build in HOSTILE_TREES.items():
            root = tmp_path / name
            build(root)
            score = fmt.detect(root)
            assert isinstance(score, float) and 0.0 <= score <= 1.0, (name, score)

    # -- round trip

    def test_reads_its_own_export_without_problems(self, fmt: Format, exported: Path):
        items, ctx = read_all(fmt, exported)
        assert ctx.errors == [], ctx.errors
        assert ctx.warnings == [], ctx.warnings
        _assert_items_safe(items, exported)

    def test_export_holds_what_the_database_held(self, fmt: Format, sample: Sample, exported: Path):
        items, _ = read_all(fmt, exported)
        read = annotations_by_sha(items)
        assert set(read) == set(sample.by_sha()), "exported image files differ from the stored"
        for sha, item in sample.by_sha().items():
            label, boxes = read[sha]
            where = f"{item.original_path} ({item.state})"
            if not (self.carries_annotations and item.labeled):
                # A prediction is never read back as an annotation: to_confirm -> unlabeled.
                assert (label, boxes) == (None, None), f"{where} read back as labeled"
            elif self.task_type is TaskType.CLASSIFICATION:
                assert label == item.label, where
                assert boxes is None, where
            else:
                assert label is None, where
                assert boxes is not None, f"{where} read back unlabeled"
                expected = _sorted_boxes(item.boxes or ())
                assert _boxes_close(boxes, expected, self.box_tolerance), (where, boxes, expected)

    def test_round_trip_is_stable(self, fmt: Format, sample: Sample, exported: Path, tmp_path):
        first_items, _ = read_all(fmt, exported)
        again = tmp_path / "export-2"
        fmt.write(again, sample.info, iter(to_export_items(first_items)))
        second_items, ctx = read_all(fmt, again)
        assert ctx.errors == [] and ctx.warnings == [], (ctx.errors, ctx.warnings)
        first, second = annotations_by_sha(first_items), annotations_by_sha(second_items)
        assert set(first) == set(second)
        for sha, (label, boxes) in first.items():
            label2, boxes2 = second[sha]
            assert label2 == label
            assert (boxes is None) == (boxes2 is None)
            if boxes is not None:
                assert _boxes_close(boxes, boxes2, self.box_tolerance), (boxes, boxes2)

    def test_declares_the_dataset_labels(self, fmt: Format, sample: Sample, exported: Path):
        if not self.declares_all_labels:
            pytest.skip(f"{fmt.name} does not declare labels")
        _, ctx = read_all(fmt, exported)
        declared = [name for name in ctx.declared_labels if name in sample.info.labels]
        assert declared == list(sample.info.labels), ctx.declared_labels

    def test_export_keeps_original_file_names(self, fmt: Format, sample: Sample, exported):
        items, _ = read_all(fmt, exported)
        originals = sample.by_sha()
        for item in items:
            original = Path(originals[sha256_file(item.path)].file_name)
            name = item.path.name
            if name == original.name:
                continue
            # A clash gets a suffix on the stem: "cat1.jpg" -> "cat1-1a2b3c4d.jpg".
            assert name.startswith(original.stem + "-"), (name, original.name)
            assert Path(name).suffix.lower() == original.suffix.lower(), (name, original.name)

    def test_empty_dataset_round_trips(self, fmt: Format, sample: Sample, tmp_path: Path):
        out = tmp_path / "empty-export"
        fmt.write(out, sample.info, iter(()))
        assert out.is_dir()
        items, ctx = read_all(fmt, out)
        assert items == []
        assert ctx.errors == []

    # -- hostile input

    @pytest.mark.parametrize("mangle", sorted(MANGLES))
    def test_mangled_annotation_files_do_not_crash(self, fmt: Format, exported: Path, mangle: str):
        annotation_files = _non_image_files(exported)
        for path in annotation_files:
            MANGLES[mangle](path)
        score = fmt.detect(exported)
        assert 0.0 <= score <= 1.0
        items, ctx = read_all(fmt, exported)
        _assert_items_safe(items, exported)
        _assert_issues_well_formed(ctx)
        if annotation_files and mangle in MUST_REPORT:
            assert ctx.errors or ctx.warnings, f"{mangle} annotation files read without a word"

    @pytest.mark.parametrize("tree", sorted(HOSTILE_TREES))
    def test_hostile_folders_do_not_crash(self, fmt: Format, tmp_path: Path, tree: str):
        root = tmp_path / tree
        HOSTILE_TREES[tree](root)
        items, ctx = read_all(fmt, root)
        _assert_items_safe(items, root)
        _assert_issues_well_formed(ctx)

    def test_symbolic_links_are_not_followed(self, fmt: Format, exported: Path, tmp_path):
        outside = tmp_path / "outside"
        secret = write_image(outside / "secret.jpg", seed=99)
        (outside / "inner").mkdir()
        write_image(outside / "inner" / "deep.png", seed=98)
        try:
            os.symlink(secret, exported / "linked.jpg")
            os.symlink(outside, exported / "linked-folder", target_is_directory=True)
            images = _image_files(exported)
            if images:
                os.symlink(images[0], images[0].parent / ("alias" + images[0].suffix))
        except OSError as exc:  # pragma: no cover - platforms without symlinks
            pytest.skip(f"cannot create symbolic links here: {exc}")
        items, ctx = read_all(fmt, exported)
        _assert_items_safe(items, exported)
        if self.reports_symlinks:
            reported = " ".join(f"{i.path} {i.problem}" for i in [*ctx.errors, *ctx.warnings])
            assert "linked.jpg" in reported and "linked-folder" in reported, reported

    def test_image_with_a_misleading_suffix_is_still_yielded(self, fmt: Format, exported: Path):
        # Importers go by name; the import service probes content (a PNG named .jpg is fine).
        jpegs = [p for p in _image_files(exported) if p.suffix.lower() == ".jpg"]
        assert jpegs, "the sample export holds no .jpg image"
        target = jpegs[0]
        write_image(target, (20, 20), seed=42, fmt="PNG")
        items, _ = read_all(fmt, exported)
        assert target in {item.path for item in items}

    def test_reading_does_not_modify_the_folder(self, fmt: Format, exported: Path):
        def snapshot() -> dict[Path, str]:
            return {
                p.relative_to(exported): sha256_file(p) for p in exported.rglob("*") if p.is_file()
            }

        before = snapshot()
        read_all(fmt, exported)
        assert snapshot() == before

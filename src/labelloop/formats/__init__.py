"""Import/export formats, one subpackage each (importer + exporter + detect()).

get_format(name) -> Format          a format by its CLI name
detect_format(root) -> Format       the most likely format of a folder ("auto")
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from labelloop.domain import InvalidInput

from .base import (
    DatasetInfo,
    ExportItem,
    ExportPrediction,
    ExportReport,
    Format,
    ImportContext,
    ImportIssue,
    ImportItem,
)

# CLI name -> subpackage; each subpackage exposes FORMAT. Imported lazily (no work at import).
FORMAT_NAMES = ("folder", "imagenet", "coco", "voc", "yolo", "manifest", "labelstudio")

__all__ = [
    "FORMAT_NAMES",
    "DatasetInfo",
    "ExportItem",
    "ExportPrediction",
    "ExportReport",
    "Format",
    "ImportContext",
    "ImportIssue",
    "ImportItem",
    "all_formats",
    "detect_format",
    "get_format",
]


def get_format(name: str) -> Format:
    if name not in FORMAT_NAMES:
        raise InvalidInput(f"unknown format {name!r}; choose one of: {', '.join(FORMAT_NAMES)}")
    return import_module(f"labelloop.formats.{name}").FORMAT


def all_formats() -> list[Format]:
    return [get_format(name) for name in FORMAT_NAMES]


def detect_format(root: Path) -> Format:
    """The format whose detect() is most confident; ties go to the more specific format."""
    if not root.is_dir():
        raise InvalidInput(f"{root} is not a folder")
    scored = [(fmt.detect(root), fmt) for fmt in all_formats()]
    # "folder" accepts any folder with images, so every other format wins a tie against it.
    best_score, best = max(scored, key=lambda pair: (pair[0], pair[1].name != "folder"))
    if best_score <= 0:
        raise InvalidInput(f"no images or known annotation files found under {root}")
    return best

"""Images only, flat, each under its original file name (made unique on a clash)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .._exporting import claim_image_name
from ..base import ExportItem, ExportReport, UniqueNames, copy_image

__all__ = ["write_folder"]


def write_folder(out: Path, items: Iterable[ExportItem]) -> ExportReport:
    out.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    names = UniqueNames()
    for item in items:
        _, file_name = claim_image_name(names, "", item)
        copy_image(item.file, out / file_name)
        report.images += 1
    return report

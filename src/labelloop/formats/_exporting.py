"""Small pieces the exporters of sidecar formats (VOC, YOLO, manifest) share."""

from __future__ import annotations

from pathlib import PurePosixPath

from .base import ExportItem, ExportPrediction, UniqueNames

__all__ = ["claim_image_name", "format_number", "pending_prediction"]


def claim_image_name(names: UniqueNames, folder: str, item: ExportItem) -> tuple[str, str]:
    """A ``(stem, file_name)`` for ``item`` unique in ``folder``, keeping the original name.

    The stem is what is made unique (case-insensitively), not the whole name: ``a.jpg`` and
    ``a.png`` would otherwise both pair with ``a.xml`` / ``a.txt``.
    """
    path = PurePosixPath(item.file_name)
    # A leading dot would hide the exported image from importers that skip hidden files.
    stem = path.stem.lstrip(".") if path.suffix else path.name.lstrip(".")
    suffix = path.suffix if path.suffix and stem else ""
    if not stem:
        stem = item.sha256[:16] or "image"
    unique_stem = names.claim(folder, stem, item.sha256)
    return unique_stem, unique_stem + (suffix or ".jpg")


def pending_prediction(item: ExportItem) -> ExportPrediction | None:
    """The prediction to export: only an image waiting for confirmation has a live one."""
    return item.prediction if item.state == "to_confirm" else None


def format_number(value: float) -> str:
    """Integers without a decimal point, other values exactly (``repr`` round-trips a float)."""
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)

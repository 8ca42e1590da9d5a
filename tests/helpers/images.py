"""Tiny generated images whose content (and so sha256) differs by seed."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

_FORMAT_BY_SUFFIX = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".jfif": "JPEG",
    ".png": "PNG",
    ".bmp": "BMP",
    ".gif": "GIF",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


def write_image(
    path: Path, size: tuple[int, int] = (40, 30), seed: int = 0, fmt: str | None = None
) -> Path:
    """Write a ``size`` image at ``path``; ``fmt`` overrides the format the suffix implies.

    Content depends on ``seed`` (a colour and one marked pixel), so two seeds never share a
    sha256 even after lossy JPEG encoding.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    color = ((seed * 53) % 256, (seed * 97 + 40) % 256, (seed * 151 + 80) % 256)
    img = Image.new("RGB", size, color)
    for dx in range(min(4, size[0])):
        img.putpixel((dx, seed % size[1]), (255 - color[0], seed % 256, 0))
    img.save(path, format=fmt or _FORMAT_BY_SUFFIX.get(path.suffix.lower(), "PNG"))
    return path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

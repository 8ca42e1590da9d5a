"""Safe probing of image files: is it an image, which format, its displayed size.

A leaf module (Pillow only) shared by import, export and the web thumbnails.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# Decompression-bomb guard: 100 megapixels is a 10000x10000 image, far beyond any labeling use.
MAX_PIXELS = 100_000_000
MAX_FILE_BYTES = 200 * 1024 * 1024
SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "MPO")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif")

EXIF_ORIENTATION_TAG = 0x0112
_SWAPS_AXES = {5, 6, 7, 8}


class ImageProblem(ValueError):
    """The file is not an image labelloop can store; the message names the problem."""


@dataclass(frozen=True)
class ImageInfo:
    format: str  # Pillow's name: JPEG, PNG, ...
    width: int  # displayed width, after EXIF orientation
    height: int
    orientation: int  # EXIF orientation tag (1 when absent)


def looks_like_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def probe_image(path: Path) -> ImageInfo:
    """Decode ``path`` enough to know it is a whole image; raise ImageProblem otherwise.

    The format comes from the content, not the name (a PNG named .jpg is accepted).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageProblem(f"cannot read the file: {exc.strerror or exc}") from None
    if size == 0:
        raise ImageProblem("the file is empty (0 bytes)")
    if size > MAX_FILE_BYTES:
        raise ImageProblem(
            f"the file is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES // 2**20} MiB limit"
        )
    try:
        with warnings.catch_warnings():
            # our own limit below is the one that counts; Pillow errors only far above it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                fmt = img.format or "?"
                if fmt not in SUPPORTED_FORMATS:
                    raise ImageProblem(f"image format {fmt} is not supported")
                width, height = img.size
                if width < 1 or height < 1:
                    raise ImageProblem(f"the image has no pixels ({width}x{height})")
                if width * height > MAX_PIXELS:
                    raise ImageProblem(
                        f"the image is {width}x{height} = {width * height / 1e6:.0f} megapixels, "
                        f"over the {MAX_PIXELS / 1e6:.0f} megapixel limit (decompression bomb)"
                    )
                orientation = _orientation(img)
                if fmt == "JPEG":
                    # Decoding at 1/8 scale still reads every byte, so truncation is caught
                    # at a fraction of the cost of a full decode.
                    img.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                img.load()
    except ImageProblem:
        raise
    except Image.DecompressionBombError:
        raise ImageProblem(
            f"the image is over the {MAX_PIXELS / 1e6:.0f} megapixel limit (decompression bomb)"
        ) from None
    except UnidentifiedImageError:
        raise ImageProblem("not an image file (unknown or corrupt content)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageProblem(f"corrupt or truncated image: {exc}") from None
    if orientation in _SWAPS_AXES:
        width, height = height, width
    return ImageInfo(format=fmt, width=width, height=height, orientation=orientation)


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(EXIF_ORIENTATION_TAG, 1)
    except Exception:
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def open_displayed(path: Path) -> Image.Image:
    """Open an image turned the way a viewer shows it (EXIF orientation applied), as RGB."""
    with Image.open(path) as img:
        shown = ImageOps.exif_transpose(img)
        return shown.convert("RGB")

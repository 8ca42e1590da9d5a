"""JPEG renditions of stored images for the web UI: thumbnails for grids, previews for editors.

Renditions are turned the way a viewer shows the image (EXIF orientation applied), so they have
the same axes as the stored width/height and every box coordinate. They are cached by content
under ``$LABELLOOP_HOME/thumbnails/<aa>/<sha256>-<size>.jpg``: an image imported into two
datasets shares its thumbnails, and the cache can be deleted at any time.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageOps

from labelloop.domain import Image, InvalidInput, NotFound
from labelloop.imaging import MAX_PIXELS

from .context import AppContext

# A closed set of sizes keeps the cache bounded: a client cannot ask for 10,000 variants.
SIZES = (128, 256, 512, 1024, 2048)
DEFAULT_SIZE = 256
JPEG_QUALITY = 85
# Formats every browser shows as they are; others (TIFF) are served as a JPEG rendition.
BROWSER_FORMATS = frozenset({"JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP"})


def thumbnail_dir(app: AppContext) -> Path:
    return app.settings.home / "thumbnails"


def thumbnail_path(app: AppContext, image: Image, size: int = DEFAULT_SIZE) -> Path:
    """The cached rendition of ``image`` whose longer side is at most ``size`` pixels.

    Made on first use; a smaller original is not enlarged.
    """
    if size not in SIZES:
        raise InvalidInput(f"thumbnail size {size} is not one of {', '.join(map(str, SIZES))}")
    cached = thumbnail_dir(app) / image.sha256[:2] / f"{image.sha256}-{size}.jpg"
    if cached.is_file():
        return cached
    source = stored_file(app, image)
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        rendition = render(source, size)
    except (OSError, SyntaxError, ValueError) as exc:  # what Pillow raises on damaged files
        raise InvalidInput(
            f"image {image.original_path} cannot be decoded ({type(exc).__name__}: {exc})"
        ) from None
    # Write then rename: two requests racing for the same thumbnail both succeed, and a reader
    # never sees a half-written file.
    fd, tmp = tempfile.mkstemp(dir=cached.parent, prefix=".thumb-", suffix=".jpg")
    try:
        with os.fdopen(fd, "wb") as handle:
            rendition.save(handle, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        os.replace(tmp, cached)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return cached


def stored_file(app: AppContext, image: Image) -> Path:
    """The image's file in the blob store; NotFound when it is gone (deleted or moved by hand)."""
    path = app.blobs.path_for(image.sha256)
    if not path.is_file():
        raise NotFound(
            f"the file of image {image.original_path} (id {image.id}) is missing from the data "
            "directory"
        )
    return path


def render(source: Path, size: int) -> PILImage.Image:
    """Decode ``source`` (at reduced scale when it is a JPEG) into an upright RGB rendition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
        with PILImage.open(source) as img:
            if img.width * img.height > MAX_PIXELS:  # stored images passed this check already
                raise InvalidInput(f"image {source.name} is too large to render")
            if img.format == "JPEG":
                # Draft mode decodes at 1/2, 1/4 or 1/8 scale: a 12 MP photo becomes a
                # thumbnail without ever being decoded in full.
                img.draft("RGB", (size, size))
            upright = ImageOps.exif_transpose(img)
            upright.thumbnail((size, size), PILImage.Resampling.LANCZOS)
            return _flatten(upright)


def _flatten(img: PILImage.Image) -> PILImage.Image:
    """RGB on white: JPEG has no alpha, and black behind transparent PNGs hides dark objects."""
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = PILImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")

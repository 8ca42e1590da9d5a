"""Turn an image file into the backbone's input: decode, orient, convert, resize, normalise.

Steps, each for a reason:
- EXIF orientation is applied (``ImageOps.exif_transpose``) so the model sees what a person
  sees: phone photos are often stored sideways with an orientation tag.
- JPEGs at least twice the target on both sides are decoded at 1/2, 1/4 or 1/8 scale (Pillow
  draft mode, DCT scaling in libjpeg): a 3024x3024 phone photo takes ~20 ms instead of ~120
  ms, and still has at least ``size`` pixels a side, so the antialiased resize that follows
  loses nothing visible.
- Every mode becomes 8-bit RGB: alpha is composited on white (how a viewer shows transparent
  product photos), 16-bit images are scaled to 8 bits instead of being clipped to white.
- Resize: the short side to ``size``, then the centre square (``CENTER_CROP``, default). Measured
  against squashing the whole image to a square, 5-shot logistic head, 20 seeds: clothing_small
  (3:4 portrait photos) 71.7% vs 66.9%, 1-NN 78.8% vs 74.3%; sign_digits (square) identical.
  Squashing distorts shapes the ImageNet features rely on more than the crop loses at the
  borders. Cropping deeper (ImageNet's 224 of 256) was no better (70.9% / 71.0%).
- Normalisation ``(x - 127) / 128``: the TensorFlow EfficientNet-Lite weights were trained with
  it; ImageNet mean/std gave 2-3 points less few-shot accuracy (design section 4).

``PREPROCESS_VERSION`` keys the embedding cache: change it whenever any step's output changes.
"""

from __future__ import annotations

import contextlib
import struct
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

INPUT_SIZE = 224
NORM_CENTER = 127.0
NORM_SCALE = 128.0


class ResizeMode(StrEnum):
    SQUASH = "squash"  # stretch the whole image to size x size
    CENTER_CROP = "center-crop"  # resize the short side to size, cut the middle square


DEFAULT_RESIZE_MODE = ResizeMode.CENTER_CROP
# Bilinear in Pillow is antialiased when shrinking (its support grows with the scale factor).
_RESAMPLE = Image.Resampling.BILINEAR
_WHITE = (255, 255, 255)
_EIGHT_BIT_TO_SIXTEEN = 257  # 65535 / 255

# Bump the leading number whenever the pixels this module produces change, for any input.
# 2: dark 16-bit images are scaled by the 16-bit range (1 passed them through as 8-bit).
PREPROCESS_VERSION = f"2:{DEFAULT_RESIZE_MODE.value}{INPUT_SIZE}:bilinear:exif:draft:tf127"


class ImageDecodeError(Exception):
    """An image file could not be turned into model input; the message names the file."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot decode image {self.path}: {reason}")


def load_rgb(path: str | Path, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
    """Decode ``path`` as displayed (EXIF applied), in 8-bit RGB.

    ``draft_size``: when set and the file is a JPEG at least twice as large on both sides,
    decode at the largest 1/2^k scale that keeps both sides >= draft_size.
    """
    try:
        with Image.open(path) as img:
            if draft_size is not None and img.format == "JPEG":
                img.draft("RGB", draft_size)
            img.load()
            return to_rgb(_displayed(img))
    except ImageDecodeError:
        raise
    except FileNotFoundError:
        raise ImageDecodeError(path, "file not found") from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(path, f"refused as a decompression bomb ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # Pillow reports unknown formats as UnidentifiedImageError (an OSError), truncated
        # data as OSError, and some malformed headers as SyntaxError/ValueError/EOFError.
        raise ImageDecodeError(path, f"{type(exc).__name__}: {exc}") from None


def _displayed(img: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says; as stored when that tag is unreadable.

    Transposes in place: the usual upright image then costs no copy (a copy of a 400x533
    photo is a fifth of its decode time). Broken EXIF is metadata damage, not image damage:
    viewers show such files as stored, and refusing them would drop good pixels
    (labelloop.imaging probes them the same way).
    """
    with contextlib.suppress(SyntaxError, ValueError, TypeError, KeyError, struct.error):
        ImageOps.exif_transpose(img, in_place=True)
    return img


def to_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB version of any Pillow mode (alpha on white, 16/32-bit scaled down)."""
    if img.mode == "RGB":
        return img
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in {"I;16", "I;16L", "I;16B", "I;16N", "I", "F"}:
        img = Image.fromarray(_high_depth_to_uint8(np.asarray(img)), mode="L")
    if img.mode in {"RGBA", "LA", "La", "RGBa", "PA"}:
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return img.convert("RGB")


def _high_depth_to_uint8(values: np.ndarray) -> np.ndarray:
    """Map 16-bit (or 32-bit int / float) grey values to 0..255.

    Integer data within 0..65535 is scaled by the full 16-bit range (a 12-bit sensor image
    stays darkish, as its viewer would show it); anything else (floats, wider integers) is
    stretched min..max.
    """
    is_float = np.issubdtype(values.dtype, np.floating)
    values = values.astype(np.float64)
    if values.size == 0:
        return values.astype(np.uint8)
    low, high = float(values.min()), float(values.max())
    if not is_float and low >= 0 and high <= 65535:
        scaled = values / _EIGHT_BIT_TO_SIXTEEN
    else:
        scaled = (values - low) * (255.0 / max(high - low, 1e-12))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def resize_for_backbone(
    img: Image.Image, size: int = INPUT_SIZE, mode: ResizeMode = DEFAULT_RESIZE_MODE
) -> Image.Image:
    if mode is ResizeMode.SQUASH:
        return img.resize((size, size), _RESAMPLE)
    width, height = img.size
    scale = size / min(width, height)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    left, top = (new_w - size) // 2, (new_h - size) // 2
    # resize(box=...) resamples only the kept square, in source coordinates.
    box = (left / scale, top / scale, (left + size) / scale, (top + size) / scale)
    return img.resize((size, size), _RESAMPLE, box=box)


def load_for_backbone(
    path: str | Path, size: int = INPUT_SIZE, mode: ResizeMode = DEFAULT_RESIZE_MODE
) -> np.ndarray:
    """(size, size, 3) uint8 RGB array of ``path``; raises ImageDecodeError naming the file."""
    img = load_rgb(path, draft_size=(size, size))
    return np.asarray(resize_for_backbone(img, size, mode), dtype=np.uint8)


def normalise_into(pixels_hwc: np.ndarray, out_chw: np.ndarray) -> None:
    """Write ``(pixels - 127) / 128`` of an (H, W, 3) uint8 image into an (3, H, W) float32 slot.

    Writing into a preallocated batch avoids one copy a batch and lets decoding threads do it.
    """
    np.subtract(pixels_hwc.transpose(2, 0, 1), NORM_CENTER, out=out_chw, dtype=np.float32)
    out_chw *= 1.0 / NORM_SCALE


def normalise(pixels_nhwc: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 -> (n, 3, H, W) float32 backbone input."""
    if pixels_nhwc.ndim != 4 or pixels_nhwc.shape[-1] != 3:
        raise ValueError(f"expected (n, H, W, 3) pixels, got shape {pixels_nhwc.shape}")
    out = np.empty((pixels_nhwc.shape[0], 3, *pixels_nhwc.shape[1:3]), dtype=np.float32)
    for index, image in enumerate(pixels_nhwc):
        normalise_into(image, out[index])
    return out

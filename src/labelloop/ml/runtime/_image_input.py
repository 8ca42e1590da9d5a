"""Images -> model input as a ModelContract says, and model pixels -> original image pixels.

Decoding reuses ``ml.features.preprocess.load_rgb`` (EXIF orientation, every mode to 8-bit RGB,
JPEG draft mode), so a model sees an image exactly as a person and the backbone do. The resize
is per contract; each resize records the affine map back to the *displayed* original image
(``InputTransform``), so boxes a detector draws in its input come back in image pixels even when
the JPEG was decoded at a reduced draft scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from labelloop.ml.features.preprocess import ImageDecodeError, load_rgb

from .contract import ModelContract

# Pillow's bilinear filter is antialiased when shrinking; the backbone's preprocessing uses it
# too, which keeps an exported trained model's input identical to the native pipeline's.
_RESAMPLE = Image.Resampling.BILINEAR
_EXIF_ORIENTATION = 0x0112
_ROTATED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class InputTransform:
    """Maps model-input pixels to original image pixels: ``orig = (input - offset) * factor``."""

    offset_x: float
    offset_y: float
    factor_x: float
    factor_y: float
    original_width: int
    original_height: int

    def boxes_to_original(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """(m, 4) xyxy in model input pixels -> (m, 4) xyxy in the original, clipped to it."""
        out = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.offset_x) * self.factor_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.offset_y) * self.factor_y
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0.0, self.original_width)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0.0, self.original_height)
        return out


def displayed_size(path: str | Path) -> tuple[int, int]:
    """(width, height) of the image as shown (EXIF rotation applied), from its header only."""
    try:
        with Image.open(path) as img:
            width, height = img.size
            orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    except FileNotFoundError:
        raise ImageDecodeError(path, "file not found") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(path, f"{type(exc).__name__}: {exc}") from None
    if orientation in _ROTATED_ORIENTATIONS:
        return height, width
    return width, height


def load_for_contract(
    path: str | Path, contract: ModelContract
) -> tuple[np.ndarray, InputTransform]:
    """Decode ``path`` and resize it per ``contract``: (H, W, 3) uint8 RGB and its transform.

    Raises ImageDecodeError naming the file.
    """
    original = displayed_size(path)
    img = load_rgb(path, draft_size=tuple(contract.size))
    return resize_for_contract(img, contract, original_size=original)


def resize_for_contract(
    img: Image.Image, contract: ModelContract, *, original_size: tuple[int, int] | None = None
) -> tuple[np.ndarray, InputTransform]:
    """Resize an RGB image per contract. ``original_size`` is the size boxes map back to
    (the full image when ``img`` was decoded at a reduced draft scale); default ``img.size``."""
    target_w, target_h = (int(v) for v in contract.size)
    width, height = img.size
    orig_w, orig_h = original_size or img.size
    if contract.resize in ("letterbox", "letterbox-top-left"):
        # The scale comes from the original size (a draft-decoded JPEG is a little off its
        # exact fraction), as the trained detector computes it: the same pixels for both.
        scale = min(target_w / orig_w, target_h / orig_h)
        new_w = max(1, min(target_w, round(orig_w * scale)))
        new_h = max(1, min(target_h, round(orig_h * scale)))
        pad_x, pad_y = (target_w - new_w) // 2, (target_h - new_h) // 2
        if contract.resize == "letterbox-top-left":
            pad_x = pad_y = 0
        fill = (round(contract.pad_value),) * 3
        canvas = Image.new("RGB", (target_w, target_h), fill)
        canvas.paste(img.resize((new_w, new_h), _RESAMPLE), (pad_x, pad_y))
        transform = InputTransform(pad_x, pad_y, orig_w / new_w, orig_h / new_h, orig_w, orig_h)
        return np.asarray(canvas, dtype=np.uint8), transform
    if contract.resize == "center-crop":
        # Same arithmetic as ml.features.preprocess.resize_for_backbone for square inputs, so an
        # exported trained model sees exactly the pixels its native pipeline saw.
        scale = max(target_w / width, target_h / height)
        new_w = max(target_w, round(width * scale))
        new_h = max(target_h, round(height * scale))
        left, top = (new_w - target_w) // 2, (new_h - target_h) // 2
        box = (left / scale, top / scale, (left + target_w) / scale, (top + target_h) / scale)
        resized = img.resize((target_w, target_h), _RESAMPLE, box=box)
        transform = InputTransform(
            -left, -top, orig_w / (width * scale), orig_h / (height * scale), orig_w, orig_h
        )
        return np.asarray(resized, dtype=np.uint8), transform
    resized = img.resize((target_w, target_h), _RESAMPLE)
    transform = InputTransform(0.0, 0.0, orig_w / target_w, orig_h / target_h, orig_w, orig_h)
    return np.asarray(resized, dtype=np.uint8), transform


class InputNormaliser:
    """(H, W, 3) uint8 RGB -> one float32 slot of the model's batch (channel order, layout,
    ``(x - mean) / std``). Built once per model; writes into a preallocated batch."""

    def __init__(self, contract: ModelContract):
        self.bgr = contract.channels == "BGR"
        self.nchw = contract.layout == "NCHW"
        self.mean = np.asarray(contract.mean, dtype=np.float32)
        self.inv_std = (1.0 / np.asarray(contract.std, dtype=np.float64)).astype(np.float32)
        width, height = (int(v) for v in contract.size)
        self.image_shape = (3, height, width) if self.nchw else (height, width, 3)

    def empty_batch(self, n: int) -> np.ndarray:
        return np.zeros((n, *self.image_shape), dtype=np.float32)

    def into(self, pixels_hwc: np.ndarray, slot: np.ndarray) -> None:
        channels = pixels_hwc[..., ::-1] if self.bgr else pixels_hwc
        if self.nchw:
            mean, inv_std = self.mean[:, None, None], self.inv_std[:, None, None]
            np.subtract(channels.transpose(2, 0, 1), mean, out=slot, dtype=np.float32)
        else:
            mean, inv_std = self.mean, self.inv_std
            np.subtract(channels, mean, out=slot, dtype=np.float32)
        slot *= inv_std

    def neutral_batch(self, n: int) -> np.ndarray:
        """A batch of mid-grey images: the dummy input used to check a model's contract."""
        batch = self.empty_batch(n)
        grey = np.full((*self.image_shape[1:], 3) if self.nchw else self.image_shape, 128, np.uint8)
        for slot in batch:
            self.into(grey, slot)
        return batch

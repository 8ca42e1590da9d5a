"""Frozen backbone features for detection: letterboxed inputs, views, and a feature cache.

The backbone is frozen, so every training step of the head can reuse features computed once
per (image, view). A *view* is the image as the backbone sees it: letterboxed into a square of
``size`` pixels (long side scaled to ``size * scale``, content in the top-left corner, the rest
filled with grey 127 which normalises to ~0), optionally mirrored left-right first. Training
uses views at two scales and both flips as augmentation; prediction uses scale 1 and the
mirrored view for test-time-augmentation checks (hard examples).

Features come from the cached ONNX pyramid graph of ``ml.features`` (ONNX Runtime is ~5x torch
eager on 2 cores), are kept as float16 (half the memory, no measurable loss for a head) and,
when a cache folder is given, stored one ``.npz`` per (image, view) so a second job or a second
benchmark run does not run the backbone again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from labelloop.ml.features.extractor import Cancelled
from labelloop.ml.features.onnx_export import GRAPH_VERSION, INPUT_NAME, GraphKind, ensure_onnx
from labelloop.ml.features.preprocess import (
    NORM_CENTER,
    ImageDecodeError,
    load_rgb,
    normalise_into,
)
from labelloop.ml.features.weights import weights_sha256

STRIDES = (8, 16, 32)
PAD_VALUE = 127  # normalises to ~0: padding looks like "no signal" to the backbone
_RESAMPLE = Image.Resampling.BILINEAR
_BATCH = 4
# Bump when the pixels of a view change (resize rule, padding, flip) so old cache files die.
VIEW_VERSION = 1

Pyramid = tuple[np.ndarray, np.ndarray, np.ndarray]  # (C,H/8,W/8), (C,H/16,..), (C,H/32,..)


@dataclass(frozen=True)
class View:
    """How an image is shown to the backbone; ``scale`` 1 fills the square's long side."""

    flip: bool = False
    scale: float = 1.0

    def key(self) -> str:
        return f"f{int(self.flip)}s{self.scale:.3f}"


ORIGINAL = View()
FLIPPED = View(flip=True)


def letterbox_factor(width: int, height: int, size: int, scale: float = 1.0) -> float:
    """Pixels of the square input per pixel of the displayed image."""
    return size * scale / max(width, height)


def load_view(path: str | Path, size: int, view: View) -> tuple[np.ndarray, tuple[int, int]]:
    """(3, size, size) float32 backbone input of ``path`` in ``view``, and (width, height)
    of the displayed (EXIF-rotated) image."""
    image = load_rgb(path, draft_size=(size, size))
    # Draft decoding may shrink the JPEG; the original displayed size comes from the header.
    width, height = displayed_size(path)
    factor = letterbox_factor(width, height, size, view.scale)
    new_w = max(1, min(size, round(width * factor)))
    new_h = max(1, min(size, round(height * factor)))
    resized = image.resize((new_w, new_h), _RESAMPLE)
    if view.flip:
        resized = resized.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    canvas = np.full((size, size, 3), PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = np.asarray(resized, dtype=np.uint8)
    out = np.empty((3, size, size), dtype=np.float32)
    normalise_into(canvas, out)
    return out, (width, height)


_EXIF_ORIENTATION = 0x0112
_QUARTER_TURNS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def displayed_size(path: str | Path) -> tuple[int, int]:
    """(width, height) as displayed: the header size, swapped when EXIF turns the image."""
    with Image.open(path) as img:
        width, height = img.size
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    if orientation in _QUARTER_TURNS:
        width, height = height, width
    return width, height


class UnreadableImages(Exception):
    """Some of the requested images could not be decoded (their header may still read)."""

    def __init__(self, reasons: dict[str, str]):
        self.reasons = reasons
        super().__init__(f"{len(reasons)} image(s) cannot be decoded: "
                         + "; ".join(list(reasons.values())[:3]))


class FeatureStore:
    """Pyramid features per (image path, view), computed in ONNX Runtime and cached.

    ``model_cache_dir`` holds the exported backbone graph; ``feature_cache_dir`` (optional)
    holds one compressed file per image and view, keyed by the file's path, size and
    modification time, the input size, the view and the backbone weights.
    """

    def __init__(
        self,
        model_cache_dir: str | Path,
        size: int,
        *,
        feature_cache_dir: str | Path | None = None,
        weights_path: str | Path | None = None,
    ):
        self.model_cache_dir = Path(model_cache_dir)
        self.size = size
        self.feature_cache_dir = None if feature_cache_dir is None else Path(feature_cache_dir)
        self.weights_path = weights_path
        self._memory: dict[tuple[str, str], Pyramid] = {}
        self._sizes: dict[str, tuple[int, int]] = {}
        self._session = None
        # Images whose pixels failed to decode (a valid header can hide a truncated or
        # corrupt body), with the reason: skipped, never retried by this store.
        self.unreadable: dict[str, str] = {}

    def image_size(self, path: str | Path) -> tuple[int, int]:
        key = str(path)
        if key not in self._sizes:
            self._sizes[key] = displayed_size(path)
        return self._sizes[key]

    def readable_sizes(self, paths: Sequence[str | Path]) -> dict[str, tuple[int, int]]:
        """Displayed size of each path whose header reads (for PNG, reading the EXIF
        decodes the whole file); the others are recorded in ``unreadable``."""
        sizes = {}
        for path in map(str, paths):
            if path in self.unreadable:
                continue
            try:
                sizes[path] = self.image_size(path)
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                self.unreadable[path] = (f"cannot decode image {path}: "
                                         f"{type(exc).__name__}: {exc}")
        return sizes

    def get(
        self,
        paths: Sequence[str | Path],
        view: View,
        *,
        progress: Callable[[int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[Pyramid]:
        """Features of every path in ``view``; ``progress(n)`` reports images done so far.

        Raises ``UnreadableImages`` (after computing every readable image's features) when
        some cannot be decoded; ``get_readable`` is the call that skips them instead."""
        wanted = list(dict.fromkeys(str(p) for p in paths))
        missing = [p for p in wanted if p not in self.unreadable and not self._load(p, view)]
        done = len(wanted) - len(missing)
        chunks = [missing[start:start + _BATCH] for start in range(0, len(missing), _BATCH)]
        with ThreadPoolExecutor(max_workers=2) as pool:

            def decode(chunk):
                return [pool.submit(self._decode, p, view) for p in chunk]

            ahead = decode(chunks[0]) if chunks else []
            for number, chunk in enumerate(chunks):
                if should_cancel is not None and should_cancel():
                    for future in ahead:
                        future.cancel()
                    raise Cancelled("cancelled while computing detection features")
                loaded = [future.result() for future in ahead]
                # The next chunk decodes while the backbone runs on this one.
                ahead = decode(chunks[number + 1]) if number + 1 < len(chunks) else []
                good = [(path, item) for path, item in zip(chunk, loaded, strict=True)
                        if item is not None]
                if good:
                    outputs = self._run(np.stack([pixels for _, (pixels, _) in good]))
                    for index, (path, (_, size)) in enumerate(good):
                        self._sizes[path] = size
                        pyramid = tuple(o[index].astype(np.float16) for o in outputs)
                        self._memory[(path, view.key())] = pyramid  # type: ignore[assignment]
                        self._save(path, view, pyramid)  # type: ignore[arg-type]
                done += len(chunk)
                if progress is not None:
                    progress(done)
        failed = {p: self.unreadable[p] for p in wanted if p in self.unreadable}
        if failed:
            raise UnreadableImages(failed)
        return [self._memory[(str(p), view.key())] for p in paths]

    def get_readable(
        self,
        paths: Sequence[str | Path],
        view: View,
        **kwargs,
    ) -> tuple[list[str], list[Pyramid]]:
        """(the paths that decode, their features): unreadable images are left out and
        recorded in ``unreadable``."""
        try:
            kept = [p for p in map(str, paths) if p not in self.unreadable]
            return kept, self.get(kept, view, **kwargs)
        except UnreadableImages:
            # Everything readable is in memory now: the second call computes nothing.
            kept = [p for p in kept if p not in self.unreadable]
            return kept, self.get(kept, view)

    def _decode(self, path: str, view: View) -> tuple[np.ndarray, tuple[int, int]] | None:
        try:
            return load_view(path, self.size, view)
        except ImageDecodeError as exc:
            self.unreadable[path] = str(exc)
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # the header, via size
            self.unreadable[path] = f"cannot decode image {path}: {type(exc).__name__}: {exc}"
        return None

    def forget(self, view: View) -> None:
        """Drop in-memory features of ``view`` (disk files stay) to bound memory."""
        for key in [k for k in self._memory if k[1] == view.key()]:
            del self._memory[key]

    def _run(self, batch: np.ndarray) -> list[np.ndarray]:
        if self._session is None:
            import onnxruntime as ort

            graph = ensure_onnx(self.model_cache_dir, GraphKind.PYRAMID,
                                weights_path=self.weights_path)
            self._session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        return self._session.run(None, {INPUT_NAME: batch})

    def _file(self, path: str, view: View) -> Path | None:
        if self.feature_cache_dir is None:
            return None
        stat = os.stat(path)
        identity = "|".join([
            os.path.abspath(path), str(stat.st_size), str(stat.st_mtime_ns), str(self.size),
            view.key(), f"g{GRAPH_VERSION}v{VIEW_VERSION}",
            weights_sha256(self.weights_path)[:16], str(NORM_CENTER),
        ])
        return self.feature_cache_dir / f"{hashlib.sha256(identity.encode()).hexdigest()}.npz"

    def _load(self, path: str, view: View) -> bool:
        if (path, view.key()) in self._memory:
            return True
        file = self._file(path, view)
        if file is None or not file.is_file():
            return False
        with contextlib.suppress(OSError):  # the eviction order of ``prune_feature_cache``
            os.utime(file)
        try:
            with np.load(file) as data:
                pyramid = (data["p8"], data["p16"], data["p32"])
                size = (int(data["size"][0]), int(data["size"][1]))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            # Evicted by another job since the check, or damaged: compute it again.
            return False
        self._memory[(path, view.key())] = pyramid
        self._sizes[path] = size
        return True

    def _save(self, path: str, view: View, pyramid: Pyramid) -> None:
        file = self._file(path, view)
        if file is None:
            return
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".feat.", suffix=".npz", dir=file.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                np.savez(out, p8=pyramid[0], p16=pyramid[1], p32=pyramid[2],
                         size=np.asarray(self._sizes[path]))
            os.replace(tmp, file)  # atomic: a concurrent reader never sees half a file
        finally:
            Path(tmp).unlink(missing_ok=True)


def prune_feature_cache(folder: str | Path, max_bytes: int) -> tuple[int, int]:
    """Delete the least recently used feature files until ``folder`` holds at most
    ``max_bytes``; returns (files removed, bytes freed). A used file's time is refreshed on
    every load, so the images of recent jobs stay."""
    entries = []
    for file in Path(folder).glob("*.npz"):
        with contextlib.suppress(OSError):  # another process may prune at the same time
            stat = file.stat()
            entries.append((stat.st_mtime_ns, stat.st_size, file))
    total = sum(size for _, size, _ in entries)
    removed = freed = 0
    for _, size, file in sorted(entries, key=lambda e: e[0]):
        if total - freed <= max_bytes:
            break
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
            removed += 1
            freed += size
    return removed, freed


def boxes_to_view(
    boxes: np.ndarray, image_size: tuple[int, int], size: int, view: View
) -> np.ndarray:
    """xyxy boxes in displayed-image pixels -> the view's input pixels."""
    width, height = image_size
    out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    if view.flip:
        out[:, [0, 2]] = width - out[:, [2, 0]]
    return out * letterbox_factor(width, height, size, view.scale)


def boxes_from_view(
    boxes: np.ndarray, image_size: tuple[int, int], size: int, view: View
) -> np.ndarray:
    """xyxy boxes in the view's input pixels -> displayed-image pixels, clipped to the image."""
    width, height = image_size
    out = np.asarray(boxes, dtype=np.float64).reshape(-1, 4) / letterbox_factor(
        width, height, size, view.scale)
    if view.flip:
        out[:, [0, 2]] = width - out[:, [2, 0]]
    return np.clip(out, 0, [width, height, width, height])

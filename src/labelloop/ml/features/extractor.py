"""Batched image -> embedding extraction with ONNX Runtime, decoding in parallel with inference.

Once inference runs in ONNX Runtime, decoding JPEGs is as expensive as the forward pass (design
section 4). The extractor therefore decodes the next batches in a small thread pool while ONNX
Runtime runs the current one; Pillow and ONNX Runtime both release the GIL, so the two overlap
for real. What was measured best on 2 cores is in ``BENCHMARKS.md`` ("Feature extraction").
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labelloop.ml.features.onnx_export import (
    EMBEDDING_OUTPUT,
    INPUT_NAME,
    GraphKind,
    ensure_onnx,
)
from labelloop.ml.features.preprocess import (
    DEFAULT_RESIZE_MODE,
    INPUT_SIZE,
    PREPROCESS_VERSION,
    ImageDecodeError,
    ResizeMode,
    load_for_backbone,
    normalise_into,
)
from labelloop.ml.features.weights import backbone_id as weights_backbone_id

EMBEDDING_DIM = 1280
DEFAULT_BATCH_SIZE = 32
# Nice value added to the decoding thread (see yield_to_inference).
DECODE_NICENESS = 10
# Batches decoded ahead of the one being embedded: one keeps the decoder busy during inference,
# a second absorbs batches of slow images (large JPEGs, PNGs) without stalling inference.
PREFETCH_BATCHES = 2

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]
# on_batch(start, stop, embeddings[start:stop], flipped[start:stop] or None), rows of failed
# images already NaN; lets a caller persist finished work before the whole call returns.
BatchCallback = Callable[[int, int, np.ndarray, np.ndarray | None], None]


class Cancelled(Exception):
    """Raised by ``embed`` when ``should_cancel()`` returned True between two batches."""


@dataclass
class EmbedResult:
    """Embeddings in the order of the input paths.

    Rows of images that failed to decode are NaN in ``embeddings`` (and ``flipped``), so that
    using them by mistake poisons results visibly; ``failed`` maps their index to the reason.
    """

    embeddings: np.ndarray  # (n, 1280) float32
    flipped: np.ndarray | None = None  # (n, 1280) float32, horizontally flipped images
    failed: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask (n,) of the images that were embedded."""
        mask = np.ones(len(self.embeddings), dtype=bool)
        mask[list(self.failed)] = False
        return mask


def yield_to_inference() -> None:
    """Run this decoding thread at a lower CPU priority than ONNX Runtime's threads, when the
    machine has spare cores.

    Decoding runs ahead of inference (PREFETCH_BATCHES), so it can wait. On an idle 2-core
    machine the scheduler otherwise splits the cores evenly between decoding and inference
    and the forward pass stalls: nice +10 took the pipeline from 84% to 93-94% of the raw
    forward. With the cores already busy (1-minute load average >= cores) other processes
    would starve the niced thread instead (81% against 91% at equal priority, measured with
    two CPU-bound processes beside it), so it keeps its priority. Linux applies a nice value
    to one thread when given its thread id; elsewhere this does nothing.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted
        if os.getloadavg()[0] < available_cores():
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), DECODE_NICENESS)


def available_cores() -> int:
    """CPU cores this process may use (respects affinity masks of containers and taskset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class FeatureExtractor:
    """EfficientNet-Lite0 embeddings of image files.

    The constructor only stores parameters; the ONNX graph is exported (once, into
    ``model_cache_dir``) and the ONNX Runtime session created on first use.

    ``intra_op_threads``: ONNX Runtime threads, default all cores. ``decode_threads``: Pillow
    decoding threads, default 1: decode + resize costs ~1.5 ms of CPU an image against ~14 ms
    for the forward pass (2 cores, measured), so one decoder keeps well ahead of inference
    (the inference loop waited 0.1 s for images in a 20 s run) and more would only compete
    with it for the cores. ``allow_spinning``: ORT worker threads busy-wait between operators
    when True; off by default because spinning burns CPU the decoder and the rest of a
    self-hosted server need.
    """

    def __init__(
        self,
        model_cache_dir: str | Path,
        *,
        weights_path: str | Path | None = None,
        intra_op_threads: int | None = None,
        decode_threads: int | None = None,
        allow_spinning: bool = False,
        input_size: int = INPUT_SIZE,
        resize_mode: ResizeMode | str = DEFAULT_RESIZE_MODE,
    ):
        self.model_cache_dir = Path(model_cache_dir)
        self.weights_path = weights_path
        self.intra_op_threads = intra_op_threads
        self.decode_threads = decode_threads
        self.allow_spinning = allow_spinning
        self.input_size = input_size
        self.resize_mode = ResizeMode(resize_mode)
        self._session = None
        self._session_lock = threading.Lock()

    # -- identity, for cache keys and model records ------------------------------------------

    @property
    def backbone_id(self) -> str:
        return weights_backbone_id(self.weights_path)

    @property
    def preprocess_version(self) -> str:
        """PREPROCESS_VERSION, qualified when this extractor departs from the default pixels."""
        if self.input_size == INPUT_SIZE and self.resize_mode is DEFAULT_RESIZE_MODE:
            return PREPROCESS_VERSION
        return f"{PREPROCESS_VERSION}+{self.resize_mode.value}{self.input_size}"

    # -- inference ---------------------------------------------------------------------------

    def _get_session(self):
        with self._session_lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session

    def _create_session(self):
        import onnxruntime as ort

        model_path = ensure_onnx(
            self.model_cache_dir, GraphKind.EMBEDDING, weights_path=self.weights_path
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads or available_cores()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if self.allow_spinning else "0"
        )
        return ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )

    def embed_array(self, batch: np.ndarray) -> np.ndarray:
        """(n, 3, H, W) float32 normalised input -> (n, 1280) float32 embeddings."""
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise ValueError(f"expected a (n, 3, H, W) batch, got shape {batch.shape}")
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        (out,) = self._get_session().run([EMBEDDING_OUTPUT], {INPUT_NAME: batch})
        return out

    def embed(
        self,
        paths: Sequence[str | Path],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        flip: bool = False,
        on_batch: BatchCallback | None = None,
    ) -> EmbedResult:
        """Embed every image of ``paths``; images that fail to decode are reported in
        ``failed`` (index -> message naming the file) instead of stopping the batch.

        ``progress(done, total)`` is called after each batch; ``should_cancel()`` is checked
        before each batch and makes this raise ``Cancelled``. ``flip=True`` also embeds the
        horizontally flipped images (test-time augmentation), at twice the inference cost.
        ``on_batch`` receives each finished batch (see ``BatchCallback``).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        total = len(paths)
        embeddings = np.full((total, EMBEDDING_DIM), np.nan, dtype=np.float32)
        flipped = np.full((total, EMBEDDING_DIM), np.nan, dtype=np.float32) if flip else None
        failed: dict[int, str] = {}
        if total == 0:
            return EmbedResult(embeddings, flipped, failed)
        self._get_session()  # export the graph / start ORT before decoding begins

        starts = list(range(0, total, batch_size))
        with ThreadPoolExecutor(
            max_workers=self.decode_threads or 1,
            thread_name_prefix="labelloop-decode",
            initializer=yield_to_inference,
        ) as pool:
            pending: deque[_DecodingBatch] = deque()
            next_batch = 0
            try:
                for start in starts:
                    while next_batch < len(starts) and len(pending) <= PREFETCH_BATCHES:
                        begin = starts[next_batch]
                        pending.append(
                            self._submit_batch(pool, paths[begin : begin + batch_size], begin)
                        )
                        next_batch += 1
                    if should_cancel is not None and should_cancel():
                        raise Cancelled(f"cancelled after {start} of {total} images")
                    batch = pending.popleft()
                    pixels, batch_failed = batch.wait()
                    stop = start + len(pixels)
                    failed.update(batch_failed)
                    embeddings[start:stop] = self.embed_array(pixels)
                    if flipped is not None:
                        flipped[start:stop] = self.embed_array(pixels[..., ::-1])
                    for index in batch_failed:
                        embeddings[index] = np.nan
                        if flipped is not None:
                            flipped[index] = np.nan
                    if on_batch is not None:
                        on_batch(
                            start,
                            stop,
                            embeddings[start:stop],
                            None if flipped is None else flipped[start:stop],
                        )
                    if progress is not None:
                        progress(stop, total)
            finally:
                for batch in pending:
                    batch.cancel()
        return EmbedResult(embeddings, flipped, failed)

    def _submit_batch(
        self, pool: ThreadPoolExecutor, paths: Sequence[str | Path], first_index: int
    ) -> _DecodingBatch:
        size = self.input_size
        pixels = np.empty((len(paths), 3, size, size), dtype=np.float32)
        futures = [
            pool.submit(self._decode_into, path, pixels, slot) for slot, path in enumerate(paths)
        ]
        return _DecodingBatch(pixels, futures, first_index)

    def _decode_into(self, path: str | Path, pixels: np.ndarray, slot: int) -> str | None:
        try:
            image = load_for_backbone(path, self.input_size, self.resize_mode)
        except ImageDecodeError as exc:
            pixels[slot] = 0.0  # inference still runs on the slot; its row is discarded
            return str(exc)
        normalise_into(image, pixels[slot])
        return None

    # -- measurement -------------------------------------------------------------------------

    def benchmark_raw_forward(
        self, *, batch_size: int = DEFAULT_BATCH_SIZE, batches: int = 10, warmup: int = 2
    ) -> float:
        """Images/s of the bare ONNX Runtime forward on random input, same session as ``embed``.

        The yardstick for the full pipeline: decode + resize + forward should reach ~90% of it.
        """
        rng = np.random.default_rng(0)
        size = self.input_size
        batch = rng.uniform(-1, 1, size=(batch_size, 3, size, size)).astype(np.float32)
        for _ in range(warmup):
            self.embed_array(batch)
        began = time.perf_counter()
        for _ in range(batches):
            self.embed_array(batch)
        return batch_size * batches / (time.perf_counter() - began)


class _DecodingBatch:
    """A batch whose images are being decoded by the pool into one preallocated array."""

    def __init__(self, pixels: np.ndarray, futures: list[Future[str | None]], first_index: int):
        self.pixels = pixels
        self.futures = futures
        self.first_index = first_index

    def wait(self) -> tuple[np.ndarray, dict[int, str]]:
        failed: dict[int, str] = {}
        for slot, future in enumerate(self.futures):
            message = future.result()
            if message is not None:
                failed[self.first_index + slot] = message
        return self.pixels, failed

    def cancel(self) -> None:
        for future in self.futures:
            future.cancel()

"""Run an ONNX model under its ModelContract: image files or arrays in, class probabilities or
boxes in original image pixels out.

``OnnxModel(path, contract)`` only stores its arguments; the ONNX Runtime session is created on
first use. ``check()`` loads the model and verifies the contract on a dummy batch (input name,
rank, fixed sizes and dtype; output names and shapes; class count; probabilities that really
are probabilities) and raises ``ModelMismatch`` with the reason when the model does not fit,
or when the file is not an ONNX model at all.

Classification answers ``ClassificationResult.probabilities`` (n, k) — softmax applied when the
model gives logits. Detection answers one ``ImageBoxes`` per image: xyxy boxes mapped back
through the resize (squash, letterbox padding, centre crop) into the displayed original image,
with scores and class indices; entries with a negative label are padding and are dropped.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from labelloop.ml.features import Cancelled, ImageDecodeError
from labelloop.ml.features.extractor import available_cores

from ._image_input import InputNormaliser, InputTransform, load_for_contract, resize_for_contract
from .contract import ModelContract

DEFAULT_BATCH_SIZE = 16
PREFETCH_BATCHES = 2  # batches decoded ahead of the one running, as in the feature extractor
_PROBABILITY_TOLERANCE = 1e-3
_CHECK_BATCH = 2  # two images, so a model that mixes up the batch axis shows it


class ModelMismatch(ValueError):
    """The file is not a loadable ONNX model, or the model does not fit its contract."""


@dataclass
class ClassificationResult:
    probabilities: np.ndarray  # (n, k) float64; rows of failed images are NaN
    failed: dict[int, str] = field(default_factory=dict)  # index -> why the image failed


@dataclass(frozen=True)
class ImageBoxes:
    boxes: np.ndarray  # (m, 4) float64 xyxy in original image pixels
    scores: np.ndarray  # (m,) float64
    labels: np.ndarray  # (m,) int64 index into the contract's class names


@dataclass
class DetectionResult:
    images: list[ImageBoxes]  # one per input; empty for failed images
    failed: dict[int, str] = field(default_factory=dict)


def _ort_errors() -> tuple[type[Exception], ...]:
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    return (
        state.Fail,
        state.InvalidArgument,
        state.InvalidGraph,
        state.InvalidProtobuf,
        state.NoSuchFile,
        state.NotImplemented,
        state.RuntimeException,
    )


class OnnxModel:
    def __init__(
        self,
        path: str | Path,
        contract: ModelContract,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        intra_op_threads: int | None = None,
        decode_threads: int = 1,
    ):
        self.path = Path(path)
        self.contract = contract
        self.batch_size = batch_size
        self.intra_op_threads = intra_op_threads
        self.decode_threads = decode_threads
        self._session = None
        self._fixed_batch: int | None = None
        self._lock = threading.Lock()

    # -- loading and checking ----------------------------------------------------------------

    def _get_session(self):
        with self._lock:
            if self._session is None:
                self._session = self._load()
            return self._session

    def _load(self):
        import onnxruntime as ort

        if not self.path.is_file():
            raise ModelMismatch(f"{self.path.name}: file not found")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads or available_cores()
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Busy-waiting ORT threads would take the CPU the decoding thread needs (2 cores).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(
                str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except _ort_errors() as exc:
            raise ModelMismatch(f"{self.path.name} is not a loadable ONNX model: {exc}") from None
        self._fixed_batch = self._check_input(session)
        self._check_output_names(session)
        return session

    def metadata(self) -> dict[str, str]:
        """The model's custom metadata (e.g. ``show_threshold`` of an exported detector)."""
        return dict(self._get_session().get_modelmeta().custom_metadata_map)

    def _check_input(self, session) -> int | None:
        """Verify the one image input; returns its batch size when the graph fixes it."""
        inputs = session.get_inputs()
        name = self.contract.input_name
        if len(inputs) != 1:
            raise ModelMismatch(
                f"the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs)}); "
                "labelloop feeds exactly one image tensor"
            )
        spec = inputs[0]
        if spec.name != name:
            raise ModelMismatch(f"the model's input is {spec.name!r}, the contract says {name!r}")
        if spec.type != "tensor(float)":
            raise ModelMismatch(f"input {name!r} is {spec.type}; labelloop feeds tensor(float)")
        if len(spec.shape) != 4:
            raise ModelMismatch(f"input {name!r} has rank {len(spec.shape)}, not 4 ({spec.shape})")
        width, height = (int(v) for v in self.contract.size)
        expected = (3, height, width) if self.contract.layout == "NCHW" else (height, width, 3)
        for axis, (got, want) in enumerate(zip(spec.shape[1:], expected, strict=True), 1):
            if isinstance(got, int) and got > 0 and got != want:
                raise ModelMismatch(
                    f"input {name!r} has shape {list(spec.shape)}; a {self.contract.layout} "
                    f"{width}x{height} RGB/BGR image needs {want} on axis {axis}"
                )
        batch = spec.shape[0]
        return batch if isinstance(batch, int) and batch > 0 else None

    def _check_output_names(self, session) -> None:
        present = {o.name for o in session.get_outputs()}
        missing = [self.contract.output_name(role) for role in self._roles()]
        missing = [name for name in missing if name not in present]
        if missing:
            raise ModelMismatch(
                f"the model has no output {', '.join(map(repr, missing))} "
                f"(its outputs: {', '.join(sorted(present))}); map roles to names with "
                "output_names in the contract"
            )

    def _roles(self) -> tuple[str, ...]:
        if self.contract.task_type == "classification":
            return ("scores",)
        return ("boxes", "scores", "labels")

    def check(self) -> None:
        """Load the model and run a dummy batch through it; raises ModelMismatch if it does not
        fit the contract."""
        self._get_session()
        n = self._fixed_batch or _CHECK_BATCH
        batch = InputNormaliser(self.contract).neutral_batch(n)
        outputs = self.run_batch(batch)
        problem = _output_problem(outputs, self.contract)
        if problem is not None:
            raise ModelMismatch(f"on a neutral {list(batch.shape)} input the model {problem}")
        if self.contract.task_type == "classification" and self.contract.outputs_probabilities:
            sums = outputs["scores"].sum(axis=1)
            if np.any(outputs["scores"] < -_PROBABILITY_TOLERANCE) or np.any(
                np.abs(sums - 1.0) > _PROBABILITY_TOLERANCE
            ):
                raise ModelMismatch(
                    "the contract says the output holds probabilities, but its rows sum to "
                    f"{', '.join(f'{s:.3f}' for s in sums)}; if the model outputs logits, set "
                    "outputs_probabilities to false"
                )

    # -- inference ---------------------------------------------------------------------------

    def run_batch(self, batch: np.ndarray) -> dict[str, np.ndarray]:
        """Forward one normalised batch; returns outputs by role, shapes verified."""
        session = self._get_session()
        n = len(batch)
        padded = batch
        if self._fixed_batch is not None and n != self._fixed_batch:
            if n > self._fixed_batch:
                raise ValueError(
                    f"batch of {n} for a model with a fixed batch of {self._fixed_batch}"
                )
            padded = np.concatenate(
                [batch, np.zeros((self._fixed_batch - n, *batch.shape[1:]), np.float32)]
            )
        roles = self._roles()
        names = [self.contract.output_name(role) for role in roles]
        try:
            values = session.run(names, {self.contract.input_name: padded})
        except _ort_errors() as exc:
            raise ModelMismatch(
                f"the model failed on a {list(padded.shape)} input: {exc}"
            ) from None
        outputs = {role: np.asarray(v)[:n] for role, v in zip(roles, values, strict=True)}
        self._check_outputs(outputs, n)
        return outputs

    def _check_outputs(self, outputs: dict[str, np.ndarray], n: int) -> None:
        k = len(self.contract.class_names)
        if self.contract.task_type == "classification":
            scores = outputs["scores"]
            if scores.ndim != 2 or scores.shape != (n, k):
                raise ModelMismatch(
                    f"output {self.contract.output_name('scores')!r} has shape "
                    f"{list(scores.shape)} for {n} images; the contract's {k} classes need "
                    f"[{n}, {k}]"
                )
            return
        boxes, scores, labels = outputs["boxes"], outputs["scores"], outputs["labels"]
        if boxes.ndim != 3 or boxes.shape[0] != n or boxes.shape[2] != 4:
            raise ModelMismatch(f"output boxes has shape {list(boxes.shape)}; expected [{n}, m, 4]")
        m = boxes.shape[1]
        for role, value in (("scores", scores), ("labels", labels)):
            if value.shape != (n, m):
                raise ModelMismatch(
                    f"output {role} has shape {list(value.shape)}; boxes say [{n}, {m}]"
                )
        if labels.size and (np.any(labels >= k) or np.any(labels != np.round(labels))):
            raise ModelMismatch(
                f"output labels holds {labels.max():g}, not a class index below {k} "
                f"(the contract names {k} classes)"
            )

    def predict_arrays(
        self, images: Sequence[np.ndarray]
    ) -> ClassificationResult | DetectionResult:
        """Predict (H, W, 3) uint8 RGB arrays (any size; they are resized per contract)."""
        from PIL import Image

        for index, image in enumerate(images):
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(
                    f"image {index} is {image.dtype} {image.shape}; expected (H, W, 3) uint8 RGB"
                )

        prepared = [
            resize_for_contract(Image.fromarray(np.asarray(a)), self.contract) for a in images
        ]
        return self._predict_prepared(prepared)

    def predict_paths(
        self,
        paths: Sequence[str | Path],
        *,
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> ClassificationResult | DetectionResult:
        """Predict image files, decoding the next batches while the current one runs.

        Images that cannot be decoded are reported in ``failed`` instead of stopping the rest.
        Raises ml.features.Cancelled when ``should_cancel()`` says so between two batches.
        """
        total = len(paths)
        collector = _Collector(self.contract, total)
        if total == 0:
            return collector.result()
        self._get_session()
        size = self._batch_limit()
        starts = list(range(0, total, size))
        normaliser = InputNormaliser(self.contract)
        with ThreadPoolExecutor(
            self.decode_threads, thread_name_prefix="labelloop-prelabel"
        ) as pool:
            pending: deque[list[Future]] = deque()
            submitted = 0
            try:
                for start in starts:
                    while submitted < len(starts) and len(pending) <= PREFETCH_BATCHES:
                        begin = starts[submitted]
                        pending.append(
                            [pool.submit(self._decode, p) for p in paths[begin : begin + size]]
                        )
                        submitted += 1
                    if should_cancel is not None and should_cancel():
                        raise Cancelled(f"cancelled after {start} of {total} images")
                    decoded = [future.result() for future in pending.popleft()]
                    batch = normaliser.empty_batch(len(decoded))
                    transforms: list[InputTransform | None] = []
                    for slot, (item, error) in enumerate(decoded):
                        if item is None:
                            collector.fail(start + slot, error)
                            transforms.append(None)
                        else:
                            normaliser.into(item[0], batch[slot])
                            transforms.append(item[1])
                    collector.add(start, self.run_batch(batch), transforms)
                    if progress is not None:
                        progress(start + len(decoded), total)
            finally:
                for futures in pending:
                    for future in futures:
                        future.cancel()
        return collector.result()

    def _batch_limit(self) -> int:
        return self._fixed_batch or self.batch_size

    def _predict_prepared(self, prepared: list[tuple[np.ndarray, InputTransform]]):
        collector = _Collector(self.contract, len(prepared))
        normaliser = InputNormaliser(self.contract)
        self._get_session()
        size = self._batch_limit()
        for start in range(0, len(prepared), size):
            chunk = prepared[start : start + size]
            batch = normaliser.empty_batch(len(chunk))
            for slot, (pixels, _) in enumerate(chunk):
                normaliser.into(pixels, batch[slot])
            collector.add(start, self.run_batch(batch), [t for _, t in chunk])
        return collector.result()

    def _decode(self, path) -> tuple[tuple[np.ndarray, InputTransform] | None, str | None]:
        try:
            return load_for_contract(path, self.contract), None
        except ImageDecodeError as exc:
            return None, str(exc)


class _Collector:
    """Gathers batch outputs into one result, in input order."""

    def __init__(self, contract: ModelContract, total: int):
        self.contract = contract
        self.classification = contract.task_type == "classification"
        self.outputs_probabilities = contract.outputs_probabilities
        self.failed: dict[int, str] = {}
        if self.classification:
            self.probabilities = np.full((total, len(contract.class_names)), np.nan)
        else:
            self.images = [_NO_BOXES] * total

    def fail(self, index: int, reason: str | None) -> None:
        self.failed[index] = reason or "cannot decode the image"

    def add(
        self, start: int, outputs: dict[str, np.ndarray], transforms: list[InputTransform | None]
    ) -> None:
        for slot, transform in enumerate(transforms):
            if transform is None:
                continue
            index = start + slot
            # A model that answers NaN for one image must not turn into a confident proposal
            # (argmax over NaN picks the first class): the image fails with the reason instead.
            problem = _output_problem(
                {role: value[slot : slot + 1] for role, value in outputs.items()}, self.contract
            )
            if problem is not None:
                self.fail(index, f"the model {problem}")
                continue
            if self.classification:
                self.probabilities[index] = self._probabilities(outputs["scores"][slot])
            else:
                self.images[index] = _boxes(outputs, slot, transform)

    def _probabilities(self, row: np.ndarray) -> np.ndarray:
        row = np.asarray(row, dtype=np.float64)
        if self.outputs_probabilities:
            return row
        shifted = np.exp(row - row.max())
        return shifted / shifted.sum()

    def result(self) -> ClassificationResult | DetectionResult:
        if self.classification:
            return ClassificationResult(self.probabilities, self.failed)
        return DetectionResult(self.images, self.failed)


def _output_problem(outputs: dict[str, np.ndarray], contract: ModelContract) -> str | None:
    """Why these outputs cannot be used (non-finite values; detection scores outside [0, 1]),
    or None. Detection entries with a negative label are padding and are not looked at."""
    if contract.task_type == "classification":
        if not np.all(np.isfinite(outputs["scores"])):
            return "answered NaN or infinite class scores"
        return None
    real = np.asarray(outputs["labels"]) >= 0
    scores = np.asarray(outputs["scores"], dtype=np.float64)[real]
    boxes = np.asarray(outputs["boxes"], dtype=np.float64)[real]
    if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(boxes))):
        return "answered NaN or infinite boxes or scores"
    if scores.size and (
        scores.min() < -_PROBABILITY_TOLERANCE or scores.max() > 1 + _PROBABILITY_TOLERANCE
    ):
        return (
            f"answered detection scores from {scores.min():.3g} to {scores.max():.3g}; the "
            "contract needs scores between 0 and 1 (apply a sigmoid or softmax in the graph)"
        )
    return None


_NO_BOXES = ImageBoxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))


def _boxes(outputs: dict[str, np.ndarray], slot: int, transform: InputTransform) -> ImageBoxes:
    labels = np.asarray(outputs["labels"][slot])
    keep = labels >= 0  # negative labels pad a fixed number of detections
    boxes = transform.boxes_to_original(np.asarray(outputs["boxes"][slot])[keep])
    scores = np.asarray(outputs["scores"][slot], dtype=np.float64)[keep]
    labels = labels[keep].astype(np.int64)
    real = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # not empty after clipping
    return ImageBoxes(boxes[real], scores[real], labels[real])

"""Run a registered model over a dataset's images, whatever its source.

``predictor_for(app, model)`` picks the runner:
- trained linear head (``config["kind"] == "linear-head"``): the backbone embeddings of the
  images (from the embedding cache when a job already computed them, flip-averaged as the job
  that trained it did) through the saved head, in numpy;
- trained detector (``"detector"``): ``ml.detect``'s TrainedDetector, which also judges each
  image (hard type from calibrated scores and the mirrored view, hints) better than a rule on
  scores alone could; that judgement comes with its answer;
- any local ``model.onnx`` + contract (uploads, and trained models saved that way): ONNX
  Runtime via ``ml.runtime.onnx_model``;
- remote: the Label Studio ML backend client, images served by a job-scoped loopback server
  or sent as data URIs.

Every runner answers ``ModelAnswer``s in model class names and image pixels; mapping them to
dataset labels and flagging hard examples (unless the model judged them) is the pre-label job's
work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from labelloop.domain import Image, LabelloopError
from labelloop.domain.models import Model, ModelSource

from .context import AppContext
from .models import MODEL_FILE, RemoteSettings

Progress = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


class ModelFailed(LabelloopError):
    """The model could not be run: unreachable, broken, or answering nonsense."""


@dataclass(frozen=True)
class ModelAnswer:
    image_id: int
    # classification: (model class, score or None), best first; empty = no answer
    classes: tuple[tuple[str, float | None], ...] = ()
    # detection: (model class, x, y, w, h in original pixels, score or None)
    boxes: tuple[tuple[str, float, float, float, float, float | None], ...] = ()
    # classification from a local model: probabilities of every model class, in class order
    probabilities: np.ndarray | None = None
    # detection from a model that types its own hard examples (a trained detector)
    judged: Judgement | None = None


@dataclass(frozen=True)
class Judgement:
    hard_type: str  # "none" | "false_detection" | "missed_detection"
    coefficient: float
    reasons: tuple[tuple[int, str], ...]
    hints: tuple[tuple[str, float, float, float, float, float | None], ...]


@dataclass
class RunOutput:
    answers: list[ModelAnswer]
    failed: list[tuple[int, str]] = field(default_factory=list)  # (image id, why)
    model_versions: list[str] = field(default_factory=list)  # what a remote model reported
    stats: dict = field(default_factory=dict)


class Predictor(Protocol):
    def predict(
        self, images: Sequence[Image], *, progress: Progress, should_cancel: CancelCheck
    ) -> RunOutput: ...


def predictor_for(app: AppContext, model: Model) -> Predictor:
    if model.source is ModelSource.REMOTE:
        return RemotePredictor(app, model)
    if model.path and (Path(model.path) / MODEL_FILE).is_file():
        return OnnxPredictor(app, model)
    if model.config.get("kind") == "linear-head":
        return LinearHeadPredictor(app, model)
    if model.config.get("kind") == "detector":
        return DetectorPredictor(app, model)
    raise ModelFailed(
        f"model {model.ref} cannot be run here: no {MODEL_FILE} in {model.path} and no known "
        f"model kind ({model.config.get('kind')!r})"
    )


class LinearHeadPredictor:
    def __init__(self, app: AppContext, model: Model):
        self.app = app
        self.model = model

    def predict(self, images, *, progress, should_cancel) -> RunOutput:
        from .features import embed_images
        from .model_export import load_linear_head

        head = load_linear_head(self.model)
        embedded = embed_images(self.app, images, progress=progress, should_cancel=should_cancel)
        features = embedded.embeddings
        if self.model.config.get("flip_average", False):
            features = (embedded.embeddings + embedded.flipped) / 2
        probabilities = head.predict_proba(features) if len(features) else np.zeros((0, 0))
        answers = [
            _classification_answer(img.id, row, self.model.class_names)
            for img, row in zip(embedded.images, probabilities, strict=True)
        ]
        failed = [(img.id, why) for img, why in embedded.failed]
        stats = {"embedded_from_cache": embedded.cache_hits, "embedded_now": embedded.computed}
        return RunOutput(answers, failed, stats=stats)


class DetectorPredictor:
    def __init__(self, app: AppContext, model: Model):
        self.app = app
        self.model = model

    def predict(self, images, *, progress, should_cancel) -> RunOutput:
        from .model_export import load_detector

        detector = load_detector(self.app, self.model)
        paths = [self.app.blobs.path_for(img.sha256) for img in images]
        results = detector.predict(paths, progress=progress, should_cancel=should_cancel)
        names = self.model.class_names
        output = RunOutput([])
        for img, found in zip(images, results, strict=True):
            if found.error:
                output.failed.append((img.id, found.error))
                continue
            hints = _xywh_boxes(found.hint_boxes, found.hint_labels, found.hint_scores, names)
            judged = Judgement(
                found.hard_type,
                float(found.hard_coefficient),
                tuple((int(c), str(t)) for c, t in found.hard_reasons),
                hints,
            )
            boxes = _xywh_boxes(found.boxes, found.labels, found.scores, names)
            output.answers.append(ModelAnswer(img.id, boxes=boxes, judged=judged))
        return output


def _xywh_boxes(boxes, labels, scores, names):
    return tuple(
        (names[int(k)], float(x), float(y), float(w), float(h), float(s))
        for (x, y, w, h), k, s in zip(boxes, labels, scores, strict=True)
    )


class OnnxPredictor:
    def __init__(self, app: AppContext, model: Model):
        self.app = app
        self.model = model

    def predict(self, images, *, progress, should_cancel) -> RunOutput:
        from labelloop.ml.runtime.onnx_model import ClassificationResult, ModelMismatch, OnnxModel

        from .model_export import stored_contract

        contract = stored_contract(self.model)
        runner = OnnxModel(Path(self.model.path) / MODEL_FILE, contract)
        paths = [self.app.blobs.path_for(img.sha256) for img in images]
        try:
            result = runner.predict_paths(paths, progress=progress, should_cancel=should_cancel)
        except ModelMismatch as exc:
            raise ModelFailed(f"model {self.model.ref}: {exc}") from None
        failed = [(images[i].id, why) for i, why in sorted(result.failed.items())]
        names = contract.class_names
        answers = []
        for index, img in enumerate(images):
            if index in result.failed:
                continue
            if isinstance(result, ClassificationResult):
                answers.append(_classification_answer(img.id, result.probabilities[index], names))
            else:
                found = result.images[index]
                boxes = tuple(
                    (names[int(k)], float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(s))
                    for (x1, y1, x2, y2), s, k in zip(
                        found.boxes, found.scores, found.labels, strict=True
                    )
                )
                answers.append(ModelAnswer(img.id, boxes=boxes))
        return RunOutput(answers, failed)


def _classification_answer(image_id: int, row: np.ndarray, names: Sequence[str]) -> ModelAnswer:
    order = np.argsort(-row, kind="stable")
    return ModelAnswer(
        image_id,
        classes=tuple((names[j], float(row[j])) for j in order),
        probabilities=np.asarray(row, dtype=np.float64),
    )


class RemotePredictor:
    """A Label Studio ML backend. The images it gets (by URL or data URI) are turned as they
    are displayed (EXIF orientation applied, ``ml.runtime.image_server``), the pixels the
    percent boxes refer to; an answer whose boxes say they were drawn on an image of another
    shape (``original_width``/``original_height``) fails that image instead of misplacing them."""

    def __init__(self, app: AppContext, model: Model):
        self.app = app
        self.model = model
        self.settings = RemoteSettings.from_config(model.config)

    def predict(self, images, *, progress, should_cancel) -> RunOutput:
        from labelloop.ml.runtime.image_server import ImageServer, data_uri
        from labelloop.ml.runtime.remote import RemoteModelClient, RemoteModelError

        by_id = {img.id: img for img in images}
        client = RemoteModelClient(
            self.settings.url,
            self.model.task_type.value,
            class_names=self.model.class_names,
            timeout=self.settings.timeout_s,
            retries=self.settings.retries,
            batch_size=self.settings.batch_size,
        )
        ids = [img.id for img in images]
        try:
            with client:
                client.health(should_cancel=should_cancel)
                if self.settings.image_transport == "data-uri":
                    answers = client.predict_all(
                        ids,
                        lambda i: data_uri(self._path(by_id[i]), by_id[i].file_format),
                        progress=progress,
                        should_cancel=should_cancel,
                    )
                else:
                    files = {img.id: (self._path(img), img.file_format) for img in images}
                    with ImageServer(files) as server:
                        answers = client.predict_all(
                            ids, server.url_for, progress=progress, should_cancel=should_cancel
                        )
        except RemoteModelError as exc:
            raise ModelFailed(f"remote model {self.model.ref}: {exc}") from None
        output = RunOutput([])
        for img, answer in zip(images, answers, strict=True):
            if answer.model_version and answer.model_version not in output.model_versions:
                output.model_versions.append(answer.model_version)
            why = _size_contradiction(answer.boxes, img.width, img.height)
            if why is not None:
                output.failed.append((img.id, why))
                continue
            output.answers.append(self._answer(img, answer))
        return output

    def _path(self, img: Image) -> Path:
        return self.app.blobs.path_for(img.sha256)

    @staticmethod
    def _answer(img: Image, answer) -> ModelAnswer:
        classes = tuple(
            (c.label, c.score)
            for c in sorted(answer.choices, key=lambda c: -(c.score if c.score is not None else -1))
        )
        boxes = tuple(_percent_box_to_pixels(b, img.width, img.height) for b in answer.boxes)
        return ModelAnswer(img.id, classes=classes, boxes=boxes)


# Sizes within a pixel, or of the same shape within this share (a backend that scaled the image
# and says so), place percent boxes alike.
_SAME_SHAPE = 0.01


def _size_contradiction(boxes, width: int, height: int) -> str | None:
    """Why the boxes' ``original_width``/``original_height`` contradict the displayed size,
    or None (sizes not given, equal, or of the same shape)."""
    for box in boxes:
        said_w, said_h = box.original_width, box.original_height
        if said_w is None or said_h is None:
            continue
        if abs(said_w - width) <= 1 and abs(said_h - height) <= 1:
            continue
        if abs((said_w / said_h) / (width / height) - 1.0) <= _SAME_SHAPE:
            continue
        return (
            f"the model drew its boxes on a {said_w:g}x{said_h:g} image, but the image is "
            f"{width}x{height} as displayed (EXIF orientation applied); its percent boxes "
            "would be misplaced, so none is kept"
        )
    return None


def _percent_box_to_pixels(box, width: int, height: int):
    """A box in percent of the image (as Label Studio draws them), clipped to the image."""
    x1, x2 = (float(np.clip(v, 0.0, 100.0)) for v in (box.x, box.x + box.width))
    y1, y2 = (float(np.clip(v, 0.0, 100.0)) for v in (box.y, box.y + box.height))
    scale_x, scale_y = width / 100.0, height / 100.0
    return (
        box.label,
        x1 * scale_x,
        y1 * scale_y,
        (x2 - x1) * scale_x,
        (y2 - y1) * scale_y,
        box.score,
    )

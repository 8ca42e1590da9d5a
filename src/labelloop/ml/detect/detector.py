"""``TrainedDetector``: prediction with hard-example typing, save/load, ONNX export."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from labelloop.ml.detect._calibration import PlattMap
from labelloop.ml.detect._features import FLIPPED, ORIGINAL, FeatureStore
from labelloop.ml.hard.detection import DetectionHardnessStats, detection_hardness

FORMAT_VERSION = 1
WEIGHTS_FILE = "head.npz"
META_FILE = "detector.json"


@dataclass(frozen=True)
class DetectorMeta:
    n_classes: int
    input_size: int
    head_width: int
    platt: PlattMap
    stats: DetectionHardnessStats
    metrics: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format_version": FORMAT_VERSION, **asdict(self)}

    @staticmethod
    def from_json(data: dict) -> DetectorMeta:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported detector format {data.get('format_version')!r}")
        return DetectorMeta(
            n_classes=int(data["n_classes"]),
            input_size=int(data["input_size"]),
            head_width=int(data["head_width"]),
            platt=PlattMap(**data["platt"]),
            stats=DetectionHardnessStats(**data["stats"]),
            metrics={k: float(v) for k, v in data["metrics"].items()},
        )


@dataclass(frozen=True)
class DetectionResult:
    """One image's prediction. Boxes are ``(x, y, w, h)`` in displayed-image pixels; scores
    are calibrated (probability that the box is right). ``hint_*`` are likely objects left
    without a box (never boxes to show as predictions). ``doubtful`` indexes the boxes
    ``false_detection`` is about."""

    path: str
    boxes: np.ndarray
    labels: np.ndarray
    scores: np.ndarray
    hint_boxes: np.ndarray
    hint_labels: np.ndarray
    hint_scores: np.ndarray
    hard_type: str
    hard_coefficient: float
    hard_reasons: list[tuple[int, str]]
    doubtful: np.ndarray
    error: str | None = None

    @property
    def hard(self) -> bool:
        return self.hard_type != "none"


def head_state(head) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in head.state_dict().items()}


class TrainedDetector:
    def __init__(
        self,
        state: dict[str, np.ndarray],
        meta: DetectorMeta,
        *,
        cache_dir: str | Path,
        feature_cache_dir: str | Path | None = None,
        weights_path: str | Path | None = None,
        store: FeatureStore | None = None,
    ):
        self.meta = meta
        self._state = state
        # Labeled images the trainer left out because their pixels do not decode.
        self.skipped_training: dict[str, str] = {}
        self.cache_dir = cache_dir
        self._store = store or FeatureStore(
            cache_dir,
            meta.input_size,
            feature_cache_dir=feature_cache_dir,
            weights_path=weights_path,
        )
        self.weights_path = weights_path
        self._runner = None

    @property
    def metrics(self) -> dict[str, float]:
        """Cross-validated on the labeled images: ``ap50_estimate``, ``show_threshold``,
        ``precision_at_show``, ``recall_at_show``, ``hint_threshold``, ``hard_threshold``."""
        return dict(self.meta.metrics)

    @property
    def show_threshold(self) -> float:
        return self.meta.stats.show_threshold

    def head(self):
        """The torch head module with the trained weights (eval mode)."""
        import torch

        from labelloop.ml.detect._head import DetectionHead

        head = DetectionHead(self.meta.n_classes, width=self.meta.head_width)
        head.load_state_dict({k: torch.from_numpy(v) for k, v in self._state.items()})
        return head.eval()

    def predict(
        self,
        paths: Sequence[str | Path],
        *,
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[DetectionResult]:
        readable, errors, found = self._candidates(paths, progress, should_cancel)
        paths = [str(p) for p in paths]
        results = {}
        for index, path in enumerate(readable):
            size = self._store.image_size(path)
            typed = detection_hardness(
                found[ORIGINAL][index],
                found[FLIPPED][index],
                self.meta.stats,
                image_long_side=max(size),
            )
            results[path] = DetectionResult(
                path=path,
                boxes=_xywh(typed.shown.boxes),
                labels=typed.shown.labels,
                scores=typed.shown.scores,
                hint_boxes=_xywh(typed.hints.boxes),
                hint_labels=typed.hints.labels,
                hint_scores=typed.hints.scores,
                hard_type=typed.hard_type.value,
                hard_coefficient=typed.coefficient,
                hard_reasons=typed.reasons,
                doubtful=typed.doubtful,
            )
        return [results.get(p) or _failed(p, errors[p]) for p in paths]

    def all_candidates(
        self, paths: Sequence[str | Path]
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every candidate (xyxy boxes, calibrated scores, labels) of each image, above and
        below the show threshold: what AP is computed on. Unreadable images give none."""
        readable, _, found = self._candidates(paths, None, None, views=(ORIGINAL,))
        by_path = {p: found[ORIGINAL][i] for i, p in enumerate(readable)}
        empty = (np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
        return [
            (c.boxes, c.scores, c.labels) if (c := by_path.get(str(p))) else empty for p in paths
        ]

    def _candidates(self, paths, progress, should_cancel, views=(ORIGINAL, FLIPPED)):
        from labelloop.ml.detect._inference import candidates_for, onnx_runner

        if self._runner is None:
            self._runner = onnx_runner(self.head())
        readable, errors = list(self._store.readable_sizes(paths)), {}
        total = len(views) * len(readable)
        features = {}
        for number, view in enumerate(views):
            # A header can read while the pixels do not: such images drop out here.
            kept, pyramids = self._store.get_readable(
                readable,
                view,
                should_cancel=should_cancel,
                progress=None
                if progress is None
                else (lambda n, base=number * len(readable): progress(base + n, total)),
            )
            features[view] = dict(zip(kept, pyramids, strict=True))
        wanted = set(map(str, paths))
        errors.update({p: why for p, why in self._store.unreadable.items() if p in wanted})
        readable = [p for p in readable if all(p in features[v] for v in views)]
        sizes = [self._store.image_size(p) for p in readable]
        found = {
            view: candidates_for(
                self._runner,
                [features[view][p] for p in readable],
                sizes,
                self.meta.input_size,
                view,
                score_map=self.meta.platt,
            )
            for view in views
        }
        return readable, errors, found

    def save(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(folder / WEIGHTS_FILE, **self._state)
        (folder / META_FILE).write_text(json.dumps(self.meta.to_json(), indent=2))
        return folder

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        cache_dir: str | Path,
        feature_cache_dir: str | Path | None = None,
        weights_path: str | Path | None = None,
    ) -> TrainedDetector:
        folder = Path(folder)
        meta = DetectorMeta.from_json(json.loads((folder / META_FILE).read_text()))
        with np.load(folder / WEIGHTS_FILE, allow_pickle=False) as data:
            state = {key: data[key] for key in data.files}
        return cls(
            state,
            meta,
            cache_dir=cache_dir,
            feature_cache_dir=feature_cache_dir,
            weights_path=weights_path,
        )

    def export_onnx(self, path: str | Path, *, max_detections: int | None = None) -> Path:
        """Backbone + head + decoding + NMS as one ONNX graph (contract in ``_export``) that
        gives the candidates of ``all_candidates``; ``max_detections`` (at most, and by
        default, ``MAX_CANDIDATES``) cuts them."""
        from labelloop.ml.detect._export import export_detector
        from labelloop.ml.detect._inference import MAX_CANDIDATES

        return export_detector(self, Path(path), max_detections=max_detections or MAX_CANDIDATES)


def _xywh(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], axis=1)


def _failed(path: str, error: str) -> DetectionResult:
    empty = np.zeros((0, 4))
    return DetectionResult(
        path,
        empty,
        np.zeros(0, np.int64),
        np.zeros(0),
        empty,
        np.zeros(0, np.int64),
        np.zeros(0),
        "none",
        0.0,
        [],
        np.zeros(0, np.int64),
        error=error,
    )

"""Training the head on cached backbone features, with flip / scale / crop augmentation.

Flip and scale come from the cached views (see ``_features``). Each step also trains on a
random window of the feature maps (aligned to the stride-32 grid so the levels stay aligned):
the features there were computed on the whole image, so the targets are those of the whole
image, cut to the window. Windows make a step cheaper and vary which background a step sees;
head-only steps on cached features are what make CPU training take seconds, not hours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from labelloop.ml.detect._features import Pyramid
from labelloop.ml.detect._head import STRIDES, DetectionHead
from labelloop.ml.detect._targets import focal_loss, giou_loss, view_targets
from labelloop.ml.features.extractor import Cancelled

_MIN_CROP_FRACTION = 0.6  # of the stride-32 grid side
_WARMUP_FRACTION = 0.1
_GRAD_CLIP = 5.0
# The head's layers are too small to gain from intra-op threads, and with the cores shared
# (a job beside a web server, a decoder thread) torch's thread pool spins: measured here on 2
# busy cores, 0.33 s a step with one thread against 4.0 s with two.
TRAIN_THREADS = 1
_MIN_CLASS_WEIGHT, _MAX_CLASS_WEIGHT = 0.5, 4.0


@dataclass
class TrainingView:
    """One labeled image in one view: features and boxes in that view's input pixels."""

    pyramid: Pyramid
    boxes: np.ndarray  # (g, 4) xyxy input pixels
    labels: np.ndarray  # (g,)
    ignore: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))  # (h, 4)
    weight: float = 1.0


@dataclass(frozen=True)
class TrainSettings:
    steps: int = 300
    batch_size: int = 6
    learning_rate: float = 3e-3
    weight_decay: float = 0.05
    width: int = 64
    dropout: float = 0.1
    seed: int = 0


def train_head(
    images: Sequence[Sequence[TrainingView]],
    n_classes: int,
    settings: TrainSettings,
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> DetectionHead:
    """A head trained on ``images`` (each a list of its views; one view is drawn per step)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        return _train(images, n_classes, settings, progress, should_cancel)
    finally:
        torch.set_num_threads(threads)


def _train(images, n_classes, settings, progress, should_cancel) -> DetectionHead:
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    head = DetectionHead(n_classes, width=settings.width, dropout=settings.dropout)
    optimiser = torch.optim.AdamW(head.parameters(), lr=settings.learning_rate,
                                  weight_decay=settings.weight_decay)
    warmup = max(1, int(settings.steps * _WARMUP_FRACTION))

    def lr_factor(step: int) -> float:  # linear warm-up, then cosine to zero
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, settings.steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, lr_factor)
    class_weight = _class_weights(images, n_classes)
    targets: dict[tuple[int, int], list[dict[str, torch.Tensor]]] = {}
    head.train()
    for step in range(settings.steps):
        if should_cancel is not None and should_cancel():
            raise Cancelled("cancelled while training the detector")
        picks = rng.integers(0, len(images), size=settings.batch_size)
        batch = []
        for image in picks:
            view = int(rng.integers(0, len(images[image])))
            if (image, view) not in targets:
                targets[(image, view)] = _targets_of(images[image][view], n_classes)
            batch.append((images[image][view], targets[(image, view)]))
        loss = _batch_loss(head, batch, rng, class_weight)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(head.parameters(), _GRAD_CLIP)
        optimiser.step()
        scheduler.step()
        if progress is not None:
            progress(step + 1, settings.steps)
    return head.eval()


def _class_weights(images: Sequence[Sequence[TrainingView]], n_classes: int) -> torch.Tensor:
    """Per-class weight of the classification loss, (mean count / class count) ** 0.5.

    With a handful of images the rare class (bccd: ~1 platelet for 11 red cells an image) got
    so little gradient that 150 steps left its scores at the prior; square-root balancing is
    the usual compromise between that and over-weighting a few rare examples.
    """
    counts = np.zeros(n_classes)
    for views in images:
        counts += np.bincount(np.asarray(views[0].labels, dtype=np.int64), minlength=n_classes)
    present = counts > 0
    weight = np.ones(n_classes)
    weight[present] = np.sqrt(counts[present].mean() / counts[present])
    return torch.from_numpy(np.clip(weight, _MIN_CLASS_WEIGHT, _MAX_CLASS_WEIGHT)).float()


def _targets_of(view: TrainingView, n_classes: int) -> list[dict[str, torch.Tensor]]:
    shapes = [tuple(level.shape[-2:]) for level in view.pyramid]
    return view_targets(
        torch.from_numpy(np.asarray(view.boxes, dtype=np.float32).reshape(-1, 4)),
        torch.from_numpy(np.asarray(view.labels, dtype=np.int64).reshape(-1)),
        torch.from_numpy(np.asarray(view.ignore, dtype=np.float32).reshape(-1, 4)),
        shapes, n_classes)


def _batch_loss(
    head: DetectionHead,
    batch: list[tuple[TrainingView, list[dict[str, torch.Tensor]]]],
    rng: np.random.Generator,
    class_weight: torch.Tensor,
) -> torch.Tensor:
    grid_h, grid_w = batch[0][0].pyramid[2].shape[-2:]
    crop_h = int(rng.integers(math.ceil(_MIN_CROP_FRACTION * grid_h), grid_h + 1))
    crop_w = int(rng.integers(math.ceil(_MIN_CROP_FRACTION * grid_w), grid_w + 1))
    windows = [(int(rng.integers(0, grid_h - crop_h + 1)),
                int(rng.integers(0, grid_w - crop_w + 1))) for _ in batch]
    inputs, level_targets = [], []
    for level, stride in enumerate(STRIDES):
        factor = 32 // stride
        cuts = [(slice(top * factor, (top + crop_h) * factor),
                 slice(left * factor, (left + crop_w) * factor)) for top, left in windows]
        inputs.append(torch.from_numpy(np.stack([
            view.pyramid[level][:, rows, cols] for (view, _), (rows, cols) in zip(batch, cuts,
                                                                               strict=True)
        ]).astype(np.float32)))
        level_targets.append({key: torch.stack([
            maps[level][key][rows, cols] for (_, maps), (rows, cols) in zip(batch, cuts,
                                                                          strict=True)
        ]) for key in batch[0][1][level]})
    image_weight = torch.tensor([view.weight for view, _ in batch])
    outputs = head(*inputs)
    cls_loss = box_loss = ctr_loss = torch.zeros(())
    n_positive = torch.zeros(())
    for (logits, ltrb, centerness), t in zip(outputs, level_targets, strict=True):
        weight = t["weight"] * image_weight[:, None, None]
        cls_loss = cls_loss + (focal_loss(logits.permute(0, 2, 3, 1), t["cls"])
                               * weight[..., None] * class_weight).sum()
        positive = t["positive"]
        if not positive.any():
            continue
        pos_weight = weight[positive]
        n_positive = n_positive + pos_weight.sum()
        distances = ltrb.permute(0, 2, 3, 1)[positive]
        centres = t["centre"][positive]
        predicted = torch.cat([centres - distances[:, :2], centres + distances[:, 2:]], dim=1)
        ctr_t = t["centerness"][positive]
        # Box loss weighted by centerness (FCOS): edge locations see the object least.
        box_loss = box_loss + (giou_loss(predicted, t["box"][positive]) * ctr_t * pos_weight).sum()
        ctr_loss = ctr_loss + (F.binary_cross_entropy_with_logits(
            centerness[:, 0][positive], ctr_t, reduction="none") * pos_weight).sum()
    normaliser = n_positive.clamp(min=1.0)
    return (cls_loss + ctr_loss) / normaliser + 2.0 * box_loss / normaliser

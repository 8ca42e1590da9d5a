"""Hard-example flags for pre-labeling, from the model's own confidence.

A pre-labeling model is a black box (an uploaded ONNX file, a remote endpoint): there are no
embeddings of labeled images to compare with and no cross-validation to pick a threshold from,
so hardness here is a plain rule on the scores the model gives. Pure functions over arrays,
thresholds as named constants (cleanlab style); the codes are ModelArts' (0 no object found,
1 low confidence).

Classification — hard when the best label's probability is below ``MIN_TOP_PROBABILITY``
(0.5: the model thinks it is more likely wrong than right) or when it leads the runner-up by
less than ``MIN_MARGIN`` (0.2: two labels nearly tied, e.g. 0.55 / 0.40). For a calibrated
model the first catches uncertain images, the second confusions between two labels. Over-
confident models (most plain softmax nets) trip these less often: the flags are a floor, not a
promise. ``hard_coefficient = 1 - margin``.

Detection — boxes at or above ``SHOW_THRESHOLD`` are proposed; a proposed box scoring below
``CONFIDENT_BOX`` is shaky (false_detection: probably wrong or misplaced); a candidate scoring
in [``HINT_THRESHOLD``, ``SHOW_THRESHOLD``) that overlaps no proposed box (IoU below
``SAME_OBJECT_IOU``) is probably an object left without a box (missed_detection), and is kept as
a hint; an image with no proposed box at all is missed_detection with code 0 (no object found).
When both kinds of evidence exist, false_detection wins: a wrong box must be fixed before the
image can be confirmed, a hint only asks for a look. (ml/hard has no detection rule to reuse
yet; this one needs nothing but scores.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_TOP_PROBABILITY = 0.5
MIN_MARGIN = 0.2

SHOW_THRESHOLD = 0.5
CONFIDENT_BOX = 0.7
HINT_THRESHOLD = 0.25
SAME_OBJECT_IOU = 0.5

NO_OBJECT = 0
LOW_CONFIDENCE = 1


@dataclass(frozen=True)
class ClassificationHardness:
    top: np.ndarray  # (n,) index of the best column
    top_score: np.ndarray  # (n,)
    margin: np.ndarray  # (n,) best minus second best
    hard: np.ndarray  # (n,) bool
    coefficient: np.ndarray  # (n,) in [0, 1]
    reasons: list[list[tuple[int, str]]]  # per image: (code, text)


def classification_hardness(
    scores: np.ndarray,
    *,
    min_top_probability: float = MIN_TOP_PROBABILITY,
    min_margin: float = MIN_MARGIN,
) -> ClassificationHardness:
    """``scores`` (n, k): probability of each label (rows may sum to less than 1 when part of
    the mass went to classes that map to no label). NaN scores count as unknown: hard."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"scores must be (n, k) with k >= 1, got shape {scores.shape}")
    filled = np.nan_to_num(scores, nan=-1.0)
    order = np.argsort(-filled, axis=1, kind="stable")
    top = order[:, 0]
    rows = np.arange(len(scores))
    top_score = scores[rows, top]
    second = filled[rows, order[:, 1]].clip(min=0.0) if scores.shape[1] > 1 else np.zeros(len(top))
    margin = np.clip(top_score - second, 0.0, 1.0)
    unknown = np.isnan(top_score)
    low = ~unknown & (top_score < min_top_probability)
    close = ~unknown & (margin < min_margin)
    hard = unknown | low | close
    coefficient = np.where(unknown, 1.0, 1.0 - np.nan_to_num(margin))
    reasons: list[list[tuple[int, str]]] = []
    for i in range(len(scores)):
        why = []
        if unknown[i]:
            why.append((LOW_CONFIDENCE, "the model gave no confidence score"))
        if low[i]:
            why.append(
                (LOW_CONFIDENCE, f"top probability {top_score[i]:.2f} < {min_top_probability:.2f}")
            )
        if close[i] and not low[i]:
            why.append(
                (LOW_CONFIDENCE, f"margin {margin[i]:.2f} to the second label < {min_margin:.2f}")
            )
        reasons.append(why)
    return ClassificationHardness(top, top_score, margin, hard, coefficient, reasons)


@dataclass(frozen=True)
class DetectionHardness:
    shown: np.ndarray  # (m,) bool: boxes to propose
    hints: np.ndarray  # (m,) bool: unproposed candidates that point to a missed object
    hard_type: str  # "none" | "false_detection" | "missed_detection"
    coefficient: float
    reasons: list[tuple[int, str]]

    @property
    def hard(self) -> bool:
        return self.hard_type != "none"


def detection_hardness(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    *,
    show_threshold: float = SHOW_THRESHOLD,
    confident_box: float = CONFIDENT_BOX,
    hint_threshold: float = HINT_THRESHOLD,
) -> DetectionHardness:
    """Hardness of one image from its candidate boxes (m, 4) and their scores (m,).

    A missing score (NaN) counts as a shown box of unknown confidence: shaky."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    unknown = np.isnan(scores)
    shown = unknown | (scores >= show_threshold)
    candidates = ~shown & (scores >= hint_threshold)
    if candidates.any() and shown.any():
        overlap = pairwise_iou(boxes[candidates], boxes[shown]).max(axis=1)
        candidates[np.flatnonzero(candidates)[overlap >= SAME_OBJECT_IOU]] = False
    shaky = shown & (unknown | (scores < confident_box))
    if shaky.any():
        worst = 0.0 if unknown[shaky].any() else float(scores[shaky].min())
        span = confident_box - show_threshold
        coefficient = float(np.clip(0.5 + 0.5 * (confident_box - worst) / span, 0.5, 1.0))
        text = (
            "a proposed box has no score"
            if unknown[shaky].any()
            else f"a proposed box scores {worst:.2f} < {confident_box:.2f}"
        )
        return DetectionHardness(shown, candidates, "false_detection", coefficient, [(1, text)])
    if not shown.any():
        return DetectionHardness(
            shown, candidates, "missed_detection", 1.0, [(NO_OBJECT, "no object found")]
        )
    if candidates.any():
        best = float(scores[candidates].max())
        coefficient = float(
            np.clip(
                0.5 + 0.5 * (best - hint_threshold) / (show_threshold - hint_threshold), 0.5, 1.0
            )
        )
        text = f"a candidate box scoring {best:.2f} (< {show_threshold:.2f}) has no proposed box"
        return DetectionHardness(
            shown, candidates, "missed_detection", coefficient, [(LOW_CONFIDENCE, text)]
        )
    weakest = float(scores[shown].min())
    coefficient = float(np.clip((1.0 - weakest) / (1.0 - confident_box) * 0.5, 0.0, 0.5))
    return DetectionHardness(shown, candidates, "none", coefficient, [])


def pairwise_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) intersection over union of xyxy boxes."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    left = np.maximum(a[:, None, 0], b[None, :, 0])
    top = np.maximum(a[:, None, 1], b[None, :, 1])
    right = np.minimum(a[:, None, 2], b[None, :, 2])
    bottom = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)

"""Hard-example flags for pre-labeling, from the model's own confidence.

A pre-labeling model is a black box (an uploaded ONNX file, a remote endpoint): there are no
embeddings of labeled images to compare with and no cross-validation to pick a threshold from,
so hardness here comes from the scores the model gives. Pure functions over arrays,
thresholds as named constants (cleanlab style); the codes are ModelArts' (0 no object found,
1 low confidence; detection adds ``ml.hard``'s codes from 10 on).

Classification — hard when the best label's probability is below ``MIN_TOP_PROBABILITY``
(0.5: the model thinks it is more likely wrong than right) or when it leads the runner-up by
less than ``MIN_MARGIN`` (0.2: two labels nearly tied, e.g. 0.55 / 0.40). For a calibrated
model the first catches uncertain images, the second confusions between two labels. Over-
confident models (most plain softmax nets) trip these less often: the flags are a floor, not a
promise. ``hard_coefficient = 1 - margin``.

Detection — the same false/missed typing as active learning (``ml.hard.detection``), with the
model's own scores standing in for calibrated probabilities and no mirrored view: boxes at or
above ``SHOW_THRESHOLD`` are proposed, and a proposed box is wrong with probability
``1 - score`` (capped at even odds when it duplicates another proposed box or another label
scores almost as high on it); a candidate in [``HINT_THRESHOLD``, ``SHOW_THRESHOLD``) that
overlaps no proposed box (IoU below 0.5; one per object) is kept as a hint, an object without
a box with probability ``score``. The image's hardness is
``1 - P(every proposed box right) * P(no object missed)``; nothing proposed counts as a miss
for sure (code 0, no object found). From ``HARD_THRESHOLD`` (0.3: what one proposed box
scoring ``CONFIDENT_BOX`` = 0.7 gives) the image is hard, typed by the larger risk a person can
be pointed at: ``false_detection`` when P(a proposed box is wrong) is at least P(a hinted
object is real), else ``missed_detection``. One difference from active learning, whose
probabilities are calibrated: an image is hard only when one item passes the threshold on its
own (a box scoring below ``CONFIDENT_BOX``, a hint scoring ``HARD_THRESHOLD`` or more), since
the product over a crowded image of confident but uncalibrated boxes would flag nearly every
image; the coefficient still is the whole image's risk. A box without a score is proposed and
counts as certainly wrong (false_detection, hardness 1).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from labelloop.ml.hard import (
    Candidates,
    DetectionHardnessStats,
    DetectionHardType,
    DetectionReason,
)
from labelloop.ml.hard import detection_hardness as hard_detection_typing

MIN_TOP_PROBABILITY = 0.5
MIN_MARGIN = 0.2

SHOW_THRESHOLD = 0.5
CONFIDENT_BOX = 0.7
HARD_THRESHOLD = 0.3  # = 1 - CONFIDENT_BOX: one proposed box scoring 0.7
HINT_THRESHOLD = 0.25

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
    # A floor of 1 means the model's job found no confidence that keeps its proposals right
    # often enough: every proposal is hard (even a saturated 1.0, whose float32 and float64
    # copies would otherwise fall on either side of the floor).
    check_all = min_top_probability >= 1.0
    low = ~unknown & ((top_score < min_top_probability) | check_all)
    close = ~unknown & (margin < min_margin)
    hard = unknown | low | close
    coefficient = np.where(unknown, 1.0, 1.0 - np.nan_to_num(margin))
    reasons: list[list[tuple[int, str]]] = []
    for i in range(len(scores)):
        why = []
        if unknown[i]:
            why.append((LOW_CONFIDENCE, "the model gave no confidence score"))
        if low[i] and check_all:
            why.append((LOW_CONFIDENCE, "the model's own job flagged every proposal hard"))
        elif low[i]:
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
    coefficient: float  # probability that something in the image needs a fix
    reasons: list[tuple[int, str]]
    p_false: float = 0.0  # probability that a proposed box is wrong
    p_missed: float = 0.0  # probability that an object has no box

    @property
    def hard(self) -> bool:
        return self.hard_type != "none"


def detection_hardness(
    boxes_xyxy: np.ndarray,
    scores: np.ndarray,
    labels: Sequence[Hashable] | None = None,
    *,
    show_threshold: float = SHOW_THRESHOLD,
    hint_threshold: float = HINT_THRESHOLD,
    hard_threshold: float = HARD_THRESHOLD,
) -> DetectionHardness:
    """Hardness of one image from its candidate boxes (m, 4), their scores (m,) and labels
    (m names; None: all one label), typed by ``ml.hard.detection.detection_hardness``."""
    boxes = np.asarray(boxes_xyxy, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    names = [0] * len(scores) if labels is None else list(labels)
    if len(names) != len(scores):
        raise ValueError(f"{len(scores)} scores but {len(names)} labels")
    code = {name: n for n, name in enumerate(dict.fromkeys(names))}
    codes = np.array([code[name] for name in names], dtype=np.int64)
    unknown = np.isnan(scores)
    # A box without a score is proposed all the same (the model chose to answer it): it enters
    # at 1.0, so that it is shown and covers the candidates under it, and is then counted as
    # certainly wrong below.
    filled = np.where(unknown, 1.0, scores)
    stats = DetectionHardnessStats(
        show_threshold=show_threshold, hint_threshold=hint_threshold, hard_threshold=hard_threshold
    )
    typed = hard_detection_typing(Candidates(boxes, filled, codes), None, stats)
    shown = filled >= show_threshold
    hints = _rows_of(typed.hints, boxes, filled, candidates=~shown)
    hard_type, coefficient = typed.hard_type.value, typed.coefficient
    p_false, p_missed = typed.p_false, typed.p_missed
    if hard_type != DetectionHardType.NONE.value and _weakest_risk(typed) < hard_threshold:
        # An uploaded or remote model's scores are seldom calibrated: good detectors give
        # right boxes 0.8-0.95, and the product over a crowded image (15 cells at 0.9:
        # 1 - 0.9**15 = 0.79) would flag nearly every image. So the image is hard from its
        # weakest item (a box or a hint past the threshold on its own); the coefficient keeps
        # the whole image's risk, which ranks the hard and not-hard images alike.
        hard_type = DetectionHardType.NONE.value
    reasons = dict(typed.reasons)
    if unknown.any():
        # What ml.hard decides for a shown box whose probability of being right is 0:
        # P(false) = 1 outweighs any hint and makes the hardness 1.
        hard_type, coefficient, p_false = DetectionHardType.FALSE_DETECTION.value, 1.0, 1.0
        reasons[LOW_CONFIDENCE] = "a proposed box has no score"
    elif LOW_CONFIDENCE in reasons and shown.any():
        reasons[LOW_CONFIDENCE] = (
            f"a proposed box scores {float(filled[shown].min()):.2f} "
            f"(P(a proposed box is wrong) {p_false:.2f})"
        )
    if DetectionReason.CANDIDATE_BELOW_THRESHOLD in reasons and hints.any():
        reasons[DetectionReason.CANDIDATE_BELOW_THRESHOLD] = (
            f"a candidate box scoring {float(filled[hints].max()):.2f} "
            f"(< {show_threshold:.2f}) has no proposed box"
        )
    return DetectionHardness(
        shown=shown,
        hints=hints,
        hard_type=hard_type,
        coefficient=float(coefficient),
        reasons=[(int(c), text) for c, text in sorted(reasons.items())],
        p_false=float(p_false),
        p_missed=float(p_missed),
    )


def _weakest_risk(typed) -> float:
    """The largest single risk in a typed image: a shown box being wrong (after ml.hard's caps
    for duplicates and class ambiguity) or a hint being a real object; with nothing shown, the
    image's own risk (a miss)."""
    if len(typed.shown.scores) == 0:
        return float(typed.coefficient)
    box_risk = 1.0 - float(np.min(typed.box_confidence))
    hint_risk = float(np.max(typed.hints.scores)) if len(typed.hints.scores) else 0.0
    return max(box_risk, hint_risk)


def _rows_of(
    picked: Candidates, boxes: np.ndarray, scores: np.ndarray, *, candidates: np.ndarray
) -> np.ndarray:
    """Mask over ``boxes`` of the rows ``picked`` holds (ml.hard hands back copies of them)."""
    mask = np.zeros(len(scores), dtype=bool)
    for box, score in zip(np.asarray(picked.boxes).reshape(-1, 4), picked.scores, strict=True):
        same = candidates & ~mask & (scores == score) & np.all(boxes == box, axis=1)
        if same.any():
            mask[np.argmax(same)] = True
    return mask

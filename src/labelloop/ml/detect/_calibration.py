"""Per-dataset score calibration and thresholds, from held-out labeled images.

Raw detector scores run low and their scale differs between datasets (a prototype rarely
scored above 0.5 yet ranked true vs false boxes with AUROC ~0.9), so every threshold is chosen
on predictions for labeled images the model did not train on (cross-validation folds):

- a Platt map (logistic regression on the logit of the raw score) turns scores into the
  probability that a candidate is a right box (IoU >= 0.5 with an unmatched object, same label);
- the show threshold maximises F1 of the shown boxes;
- the hint threshold is the lowest score under it whose band still holds objects often enough
  to be worth a person's look (``HINT_MIN_PRECISION``);
- the rates ``ml.hard.detection`` needs (precision of boxes with a warning sign, objects no
  candidate found) and the hardness threshold that leaves images typed ``none`` at least
  ``NONE_TARGET`` fully right.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelloop.ml.detect.boxes import match_boxes, mean_average_precision
from labelloop.ml.hard.detection import (
    UNMEASURED_PRECISION,
    Candidates,
    DetectionHardnessStats,
    ambiguous_boxes,
    detection_hardness,
    duplicate_boxes,
    has_mirror_support,
)

HINT_MIN_PRECISION = 0.3
NONE_TARGET = 0.8  # share of images typed "none" that should be fully right
PSEUDO_LABEL_PRECISION = 0.9  # pseudo-labels must be right this often on held-out images
_MIN_FLAGGED_TO_MEASURE = 5
_LOGIT_CLIP = 1e-4


@dataclass(frozen=True)
class PlattMap:
    """probability = sigmoid(slope * logit(raw) + intercept)."""

    slope: float = 1.0
    intercept: float = 0.0

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        raw = np.clip(np.asarray(raw, dtype=np.float64), _LOGIT_CLIP, 1 - _LOGIT_CLIP)
        return 1.0 / (1.0 + np.exp(-(self.slope * np.log(raw / (1 - raw)) + self.intercept)))


@dataclass(frozen=True)
class HeldOutImage:
    """Raw candidates of a model for one labeled image it did not train on."""

    original: Candidates
    mirrored: Candidates
    gt_boxes: np.ndarray
    gt_labels: np.ndarray


@dataclass(frozen=True)
class Calibration:
    platt: PlattMap
    stats: DetectionHardnessStats
    pseudo_threshold: float
    metrics: dict[str, float]


def calibrate(held_out: list[HeldOutImage], n_classes: int, empty_image_rate: float,
              typical_long_side: float) -> Calibration:
    raw = np.concatenate([np.asarray(h.original.scores) for h in held_out] or [np.zeros(0)])
    hits = np.concatenate([_hits(h.original, h) for h in held_out] or [np.zeros(0, bool)])
    platt = _fit_platt(raw, hits)
    calibrated = [_calibrated(h, platt) for h in held_out]
    probability = platt(raw)
    n_objects = sum(len(h.gt_labels) for h in held_out)
    show, precision, recall = _best_f1(probability, hits, n_objects)
    hint = _hint_threshold(probability, hits, show)
    pseudo = _precision_threshold(probability, hits, show, PSEUDO_LABEL_PRECISION)
    ap50, _ = mean_average_precision(
        [(c.original.boxes, c.original.scores, c.original.labels) for c in calibrated],
        [(h.gt_boxes, h.gt_labels) for h in held_out], n_classes)
    stats = _flag_rates(calibrated, show, hint, empty_image_rate, typical_long_side)
    stats = _with_hard_threshold(calibrated, stats)
    metrics = {
        "ap50_estimate": float(ap50), "show_threshold": show,
        "precision_at_show": precision, "recall_at_show": recall,
        "hint_threshold": hint, "hard_threshold": stats.hard_threshold,
        "held_out_images": float(len(held_out)), "held_out_objects": float(n_objects),
    }
    return Calibration(platt, stats, pseudo, metrics)


def _hits(candidates: Candidates, image: HeldOutImage) -> np.ndarray:
    return match_boxes(candidates.boxes, candidates.scores, candidates.labels,
                       image.gt_boxes, image.gt_labels).true_positives


def _calibrated(image: HeldOutImage, platt: PlattMap) -> HeldOutImage:
    def apply(c: Candidates) -> Candidates:
        return Candidates(c.boxes, platt(c.scores), c.labels)
    return HeldOutImage(apply(image.original), apply(image.mirrored), image.gt_boxes,
                        image.gt_labels)


def _fit_platt(raw: np.ndarray, hits: np.ndarray) -> PlattMap:
    if hits.all() or not hits.any():
        return PlattMap()  # one outcome only: nothing to fit, keep raw scores
    from sklearn.linear_model import LogisticRegression

    clipped = np.clip(raw, _LOGIT_CLIP, 1 - _LOGIT_CLIP)
    feature = np.log(clipped / (1 - clipped)).reshape(-1, 1)
    model = LogisticRegression(C=1.0).fit(feature, hits.astype(int))
    return PlattMap(float(model.coef_[0, 0]), float(model.intercept_[0]))


def _ranked(probability: np.ndarray, hits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-probability, kind="stable")
    return probability[order], hits[order].astype(np.float64)


def _best_f1(probability: np.ndarray, hits: np.ndarray, n_objects: int
             ) -> tuple[float, float, float]:
    """(threshold, precision, recall) maximising F1 of boxes at or above the threshold."""
    if len(probability) == 0 or n_objects == 0:
        return 0.5, 0.0, 0.0
    scores, hit = _ranked(probability, hits)
    tp = np.cumsum(hit)
    precision = tp / np.arange(1, len(hit) + 1)
    recall = tp / n_objects
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    # Only cut between distinct scores, so the threshold reproduces the chosen set.
    valid = np.append(scores[1:] < scores[:-1], True)
    best = int(np.argmax(np.where(valid, f1, -1.0)))
    return float(scores[best]), float(precision[best]), float(recall[best])


def _hint_threshold(probability: np.ndarray, hits: np.ndarray, show: float) -> float:
    """Lowest t under ``show`` with precision of candidates in [t, show) >= the hint target."""
    below = probability < show
    scores, hit = _ranked(probability[below], hits[below])
    if len(scores) == 0:
        return show / 2
    band_precision = np.cumsum(hit) / np.arange(1, len(hit) + 1)
    good = np.flatnonzero(band_precision >= HINT_MIN_PRECISION)
    return float(scores[good[-1]]) if len(good) else float(max(scores[0], show / 2))


def _precision_threshold(probability: np.ndarray, hits: np.ndarray, floor: float,
                         target: float) -> float:
    """Lowest threshold >= floor whose boxes are right at least ``target`` of the time."""
    scores, hit = _ranked(probability, hits)
    precision = np.cumsum(hit) / np.arange(1, len(hit) + 1)
    good = np.flatnonzero((precision >= target) & (scores >= floor))
    return float(scores[good[-1]]) if len(good) else 1.0


def _flag_rates(images: list[HeldOutImage], show: float, hint: float,
                empty_image_rate: float, typical_long_side: float) -> DetectionHardnessStats:
    unstable, duplicate, ambiguous, mirror_only = [], [], [], []
    unseen = shown_total = 0
    for image in images:
        shown = image.original.take(np.flatnonzero(image.original.scores >= show))
        right = _hits(shown, image)
        shown_total += len(right)
        if len(right):
            unstable.append(right[~has_mirror_support(shown, image.mirrored, hint)])
            ambiguous.append(right[ambiguous_boxes(shown, image.original)])
            duplicate.append(right[duplicate_boxes(shown)])
        strong_mirror = image.mirrored.take(np.flatnonzero(image.mirrored.scores >= show))
        mirror_hits = _hits(strong_mirror, image)
        seen_anywhere = image.original.take(np.flatnonzero(image.original.scores >= hint))
        covered = match_boxes(seen_anywhere.boxes, seen_anywhere.scores, seen_anywhere.labels,
                              image.gt_boxes, image.gt_labels).gt_matched
        matched_mirror = match_boxes(strong_mirror.boxes, strong_mirror.scores,
                                     strong_mirror.labels, image.gt_boxes,
                                     image.gt_labels).gt_matched
        mirror_only.append(mirror_hits)
        unseen += int(np.sum(~covered & ~matched_mirror))
    return DetectionHardnessStats(
        show_threshold=show, hint_threshold=hint,
        unstable_precision=_precision_of(unstable), duplicate_precision=_precision_of(duplicate),
        ambiguous_precision=_precision_of(ambiguous),
        flip_only_precision=_precision_of(mirror_only),
        unseen_miss_rate=unseen / max(shown_total, 1), empty_image_rate=empty_image_rate,
        typical_long_side=typical_long_side)


def _precision_of(parts: list[np.ndarray]) -> float:
    flagged = np.concatenate(parts) if parts else np.zeros(0)
    if len(flagged) < _MIN_FLAGGED_TO_MEASURE:
        return UNMEASURED_PRECISION
    return float(np.mean(flagged))


def _with_hard_threshold(images: list[HeldOutImage], stats: DetectionHardnessStats
                         ) -> DetectionHardnessStats:
    """Largest threshold whose held-out ``none`` images are >= NONE_TARGET fully right."""
    coefficients, fully_right = [], []
    for image in images:
        typed = detection_hardness(image.original, image.mirrored, stats)
        right = _hits(typed.shown, image)
        found = match_boxes(typed.shown.boxes, typed.shown.scores, typed.shown.labels,
                            image.gt_boxes, image.gt_labels).gt_matched
        coefficients.append(typed.coefficient)
        fully_right.append(bool(right.all() and found.all()))
    order = np.argsort(coefficients, kind="stable")
    sorted_coefficients = np.asarray(coefficients)[order]
    share_right = np.cumsum(np.asarray(fully_right)[order]) / np.arange(1, len(order) + 1)
    threshold = 0.0  # nothing qualifies: every image is shown to a person
    for index in range(len(order)):
        last_of_tie = index + 1 == len(order) or sorted_coefficients[index + 1] > (
            sorted_coefficients[index])
        if last_of_tie and share_right[index] >= NONE_TARGET:
            # Halfway to the next image keeps this one in "none" and the next one out.
            upper = sorted_coefficients[index + 1] if index + 1 < len(order) else 1.0
            threshold = float((sorted_coefficients[index] + upper) / 2)
    return DetectionHardnessStats(**{**stats.__dict__, "hard_threshold": threshold})

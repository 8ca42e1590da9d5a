"""Box geometry in numpy: IoU, class-wise NMS, greedy matching and VOC average precision.

Boxes are ``(n, 4)`` float arrays ``x0, y0, x1, y1`` (corners, pixels). A box with zero width or
height has zero area; its IoU with anything is 0 (never NaN), so degenerate boxes neither
suppress nor match other boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Below this union area two boxes count as disjoint (avoids 0/0 for two degenerate boxes).
_EPS_AREA = 1e-9


def as_boxes(boxes: np.ndarray | list) -> np.ndarray:
    """``boxes`` as a float64 ``(n, 4)`` array; raises ValueError on any other shape."""
    array = np.asarray(boxes, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 4), dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes must have shape (n, 4), got {array.shape}")
    return array


def box_area(boxes: np.ndarray) -> np.ndarray:
    boxes = as_boxes(boxes)
    return np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(len(a), len(b))`` intersection over union; 0 where the union is empty."""
    a, b = as_boxes(a), as_boxes(b)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), dtype=np.float64)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(bottom_right - top_left, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return np.where(union > _EPS_AREA, inter / np.maximum(union, _EPS_AREA), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    A box is dropped when it overlaps an already kept, higher-scored box by more than
    ``iou_threshold``. Ties in score keep the earlier box (stable sort).
    """
    boxes = as_boxes(boxes)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    ranked = boxes[order]
    areas = box_area(ranked)
    # Overlaps of each kept box with the boxes still in play only: thousands of low-scored
    # candidates an image made the full n x n matrix most of the prediction time.
    remaining = np.arange(len(order))
    keep: list[int] = []
    while remaining.size:
        best, rest = remaining[0], remaining[1:]
        keep.append(int(order[best]))
        if not rest.size:
            break
        top_left = np.maximum(ranked[best, :2], ranked[rest, :2])
        bottom_right = np.minimum(ranked[best, 2:], ranked[rest, 2:])
        wh = np.clip(bottom_right - top_left, 0, None)
        inter = wh[:, 0] * wh[:, 1]
        union = areas[best] + areas[rest] - inter
        overlap = np.where(union > _EPS_AREA, inter / np.maximum(union, _EPS_AREA), 0.0)
        remaining = rest[overlap <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, iou_threshold: float
) -> np.ndarray:
    """Class-wise NMS: boxes of different labels never suppress each other."""
    labels = np.asarray(labels).reshape(-1)
    keep_parts = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        keep_parts.append(members[nms(np.asarray(boxes)[members], np.asarray(scores)[members],
                                      iou_threshold)])
    if not keep_parts:
        return np.zeros(0, dtype=np.int64)
    keep = np.concatenate(keep_parts)
    return keep[np.argsort(-np.asarray(scores, dtype=np.float64)[keep], kind="stable")]


@dataclass(frozen=True)
class Matching:
    """Result of matching predictions to ground truth of one image.

    ``pred_to_gt[i]`` is the ground-truth index predicted box ``i`` matched, or -1 (a false
    box); ``gt_matched[j]`` says whether ground-truth box ``j`` was found.
    """

    pred_to_gt: np.ndarray
    gt_matched: np.ndarray

    @property
    def true_positives(self) -> np.ndarray:
        return self.pred_to_gt >= 0


def match_boxes(
    pred_boxes: np.ndarray,
    pred_scores: np.ndarray,
    pred_labels: np.ndarray,
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    iou_threshold: float = 0.5,
) -> Matching:
    """VOC-style greedy matching: predictions by falling score each take the unmatched
    ground-truth box of the same label with the highest IoU, if that IoU is >= the threshold.
    """
    pred_boxes, gt_boxes = as_boxes(pred_boxes), as_boxes(gt_boxes)
    pred_labels = np.asarray(pred_labels).reshape(-1)
    gt_labels = np.asarray(gt_labels).reshape(-1)
    pred_to_gt = np.full(len(pred_boxes), -1, dtype=np.int64)
    gt_matched = np.zeros(len(gt_boxes), dtype=bool)
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return Matching(pred_to_gt, gt_matched)
    overlaps = iou_matrix(pred_boxes, gt_boxes)
    overlaps[pred_labels[:, None] != gt_labels[None, :]] = -1.0
    for index in np.argsort(-np.asarray(pred_scores, dtype=np.float64), kind="stable"):
        candidates = np.where(gt_matched, -1.0, overlaps[index])
        best = int(np.argmax(candidates))
        if candidates[best] >= iou_threshold:
            pred_to_gt[index] = best
            gt_matched[best] = True
    return Matching(pred_to_gt, gt_matched)


def voc_average_precision(
    scores: np.ndarray, is_true: np.ndarray, n_ground_truth: int
) -> float:
    """All-point interpolated AP (VOC 2010+) of one class over a whole dataset.

    ``scores``/``is_true`` list every prediction of the class in every image, ``is_true`` from
    ``match_boxes``. NaN when the class has no ground truth (it then has no AP to average).
    """
    if n_ground_truth <= 0:
        return float("nan")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    hits = np.asarray(is_true, dtype=np.float64).reshape(-1)[order]
    tp = np.cumsum(hits)
    fp = np.cumsum(1.0 - hits)
    recall = np.concatenate([[0.0], tp / n_ground_truth, [1.0]])
    precision = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1e-12), [0.0]])
    # Precision envelope: the best precision at this recall or any higher one.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def mean_average_precision(
    predictions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    ground_truth: list[tuple[np.ndarray, np.ndarray]],
    n_classes: int,
    iou_threshold: float = 0.5,
) -> tuple[float, np.ndarray]:
    """(mean AP, per-class AP) over images.

    ``predictions[i] = (boxes, scores, labels)`` and ``ground_truth[i] = (boxes, labels)`` of
    image ``i``. Classes without ground truth are NaN per class and left out of the mean.
    """
    if len(predictions) != len(ground_truth):
        raise ValueError(f"{len(predictions)} predicted images but {len(ground_truth)} truths")
    scores: list[list[np.ndarray]] = [[] for _ in range(n_classes)]
    hits: list[list[np.ndarray]] = [[] for _ in range(n_classes)]
    n_gt = np.zeros(n_classes, dtype=np.int64)
    for (p_boxes, p_scores, p_labels), (g_boxes, g_labels) in zip(
        predictions, ground_truth, strict=True
    ):
        p_labels = np.asarray(p_labels).reshape(-1)
        g_labels = np.asarray(g_labels).reshape(-1)
        matching = match_boxes(p_boxes, p_scores, p_labels, g_boxes, g_labels, iou_threshold)
        for label in range(n_classes):
            mine = p_labels == label
            scores[label].append(np.asarray(p_scores, dtype=np.float64).reshape(-1)[mine])
            hits[label].append(matching.true_positives[mine])
            n_gt[label] += int(np.sum(g_labels == label))
    per_class = np.array([
        voc_average_precision(np.concatenate(scores[c]) if scores[c] else np.zeros(0),
                              np.concatenate(hits[c]) if hits[c] else np.zeros(0), int(n_gt[c]))
        for c in range(n_classes)
    ])
    valid = ~np.isnan(per_class)
    return (float(per_class[valid].mean()) if valid.any() else float("nan")), per_class

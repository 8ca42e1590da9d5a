"""ml.detect.boxes: IoU, NMS, matching and VOC AP on hand-made edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.ml.detect.boxes import (
    batched_nms,
    iou_matrix,
    match_boxes,
    mean_average_precision,
    nms,
    voc_average_precision,
)


def test_iou_of_empty_inputs_has_the_right_shape():
    assert iou_matrix(np.zeros((0, 4)), np.zeros((3, 4))).shape == (0, 3)
    assert iou_matrix([[0, 0, 1, 1]], []).shape == (1, 0)


def test_iou_identical_touching_and_disjoint():
    a = np.array([[0, 0, 10, 10]])
    assert iou_matrix(a, a)[0, 0] == pytest.approx(1.0)
    assert iou_matrix(a, [[10, 0, 20, 10]])[0, 0] == 0.0  # touching edge: no overlap
    assert iou_matrix(a, [[5, 0, 15, 10]])[0, 0] == pytest.approx(50 / 150)


def test_iou_of_zero_area_boxes_is_zero_not_nan():
    degenerate = np.array([[5, 5, 5, 9], [3, 3, 3, 3]])
    overlaps = iou_matrix(degenerate, np.vstack([degenerate, [[0, 0, 10, 10]]]))
    assert np.isfinite(overlaps).all()
    assert (overlaps == 0).all()


def test_iou_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        iou_matrix(np.zeros((2, 3)), np.zeros((1, 4)))


def test_nms_empty_and_identical_boxes():
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).tolist() == []
    same = np.array([[0, 0, 10, 10]] * 3)
    assert nms(same, np.array([0.2, 0.9, 0.5]), 0.5).tolist() == [1]
    # Equal scores: the earlier box wins (stable).
    assert nms(same, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0]


def test_nms_keeps_touching_and_lightly_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10], [0, 0, 10, 12]])
    kept = nms(boxes, np.array([0.9, 0.8, 0.7]), 0.5)
    assert kept.tolist() == [0, 1]  # the third overlaps the first by 0.83


def test_nms_rejects_mismatched_scores():
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        nms(np.zeros((2, 4)), np.zeros(1), 0.5)


def test_batched_nms_is_class_wise():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [1, 1, 10, 10]])
    kept = batched_nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 1, 0]), 0.5)
    assert kept.tolist() == [0, 1]  # the two labels both keep one box, best first


def test_matching_takes_each_truth_once_and_respects_labels():
    gt = np.array([[0, 0, 10, 10], [20, 20, 30, 30]])
    pred = np.array([[0, 0, 10, 10], [0, 0, 10, 11], [20, 20, 30, 30]])
    m = match_boxes(pred, np.array([0.9, 0.95, 0.8]), np.array([0, 0, 1]), gt, np.array([0, 0]))
    # The higher-scored duplicate takes the truth; the other is a false box; wrong label
    # never matches.
    assert m.pred_to_gt.tolist() == [-1, 0, -1]
    assert m.gt_matched.tolist() == [True, False]


def test_matching_with_no_truth_or_no_prediction():
    empty = match_boxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0), [[0, 0, 1, 1]], [0])
    assert empty.gt_matched.tolist() == [False]
    none = match_boxes([[0, 0, 1, 1]], [0.5], [0], np.zeros((0, 4)), np.zeros(0))
    assert none.pred_to_gt.tolist() == [-1]


def test_voc_ap_perfect_half_and_empty():
    assert voc_average_precision([0.9, 0.8], [True, True], 2) == pytest.approx(1.0)
    assert voc_average_precision([0.9], [True], 2) == pytest.approx(0.5)
    assert voc_average_precision([], [], 3) == 0.0
    assert np.isnan(voc_average_precision([0.5], [False], 0))
    # A false box ranked first: precision is 2/3 at full recall, and the envelope carries
    # that best precision back to recall 0.5.
    assert voc_average_precision([0.9, 0.8, 0.7], [False, True, True], 2) == pytest.approx(2 / 3)


def test_mean_ap_skips_classes_without_truth():
    gt = [(np.array([[0, 0, 10, 10]]), np.array([0]))]
    pred = [(np.array([[0, 0, 10, 10]]), np.array([0.9]), np.array([0]))]
    mean, per_class = mean_average_precision(pred, gt, n_classes=2)
    assert mean == pytest.approx(1.0)
    assert np.isnan(per_class[1])

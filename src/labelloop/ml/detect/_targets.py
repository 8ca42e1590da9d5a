"""Training targets and losses of the FCOS-style head (see ``_head``).

A location is a positive for a box when it lies inside the box, within 1.5 strides of the box
centre, on a level whose size range holds the box. Boxes smaller than a stride would get no
location that way, so the location nearest each box centre is always a positive on the box's
levels: a 10-pixel platelet still teaches the stride-8 map. A location claimed by several boxes
learns the smallest (the larger box has other locations).

Locations inside *ignore* boxes (uncertain pseudo-labels) are neither positive nor negative:
calling them background would teach the head to miss real objects.

Targets depend only on the boxes and the view, so ``view_targets`` computes them once per
training view; training steps then cut crops out of them.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from labelloop.ml.detect._head import LEVEL_RANGES, STRIDES, location_centres

_CENTRE_RADIUS = 1.5  # strides, FCOS "centre sampling"
_FOCAL_ALPHA = 0.25
_FOCAL_GAMMA = 2.0
_EPS = 1e-7


def level_targets(
    boxes: Tensor, labels: Tensor, ignore: Tensor, height: int, width: int, stride: int,
    n_classes: int,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Targets of one image on one level.

    Returns (class targets (hw, C) in {0,1}, class-loss weights (hw,), target boxes (hw, 4)
    xyxy, positive mask (hw,)).
    """
    centres = location_centres(height, width, stride)
    n_locations = centres.shape[0]
    cls_target = torch.zeros(n_locations, n_classes)
    box_target = torch.zeros(n_locations, 4)
    positive = torch.zeros(n_locations, dtype=torch.bool)
    weight = torch.ones(n_locations)
    if len(ignore):
        weight[_inside(centres, ignore).any(dim=1)] = 0.0
    if len(boxes) == 0:
        return cls_target, weight, box_target, positive
    low, high = LEVEL_RANGES[stride]
    sides = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    on_level = (sides >= low) & (sides < high)
    box_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    near_centre = ((centres[:, None, :] - box_centres[None]).abs() < _CENTRE_RADIUS * stride).all(2)
    claimed = _inside(centres, boxes) & near_centre & on_level[None]
    nearest = torch.cdist(box_centres, centres).argmin(dim=1)
    claimed[nearest, torch.arange(len(boxes))] |= on_level
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    masked_area = torch.where(claimed, areas[None].expand_as(claimed), torch.inf)
    smallest_area, owner = masked_area.min(dim=1)
    positive = torch.isfinite(smallest_area)
    cls_target[positive, labels[owner[positive]]] = 1.0
    box_target[positive] = boxes[owner[positive]]
    weight[positive] = 1.0
    return cls_target, weight, box_target, positive


def view_targets(
    boxes: Tensor, labels: Tensor, ignore: Tensor, shapes: list[tuple[int, int]], n_classes: int
) -> list[dict[str, Tensor]]:
    """Per level a dict of maps shaped (h, w, ...): ``cls`` (C), ``weight``, ``box`` (4),
    ``positive``, ``centerness`` (0 off positives) and ``centre`` (x, y of each cell)."""
    maps = []
    for stride, (height, width) in zip(STRIDES, shapes, strict=True):
        cls_t, weight, box_t, positive = level_targets(
            boxes, labels, ignore, height, width, stride, n_classes)
        centres = location_centres(height, width, stride)
        ctr = torch.zeros(len(centres))
        if positive.any():
            ctr[positive] = centerness_target(centres[positive], box_t[positive])
        maps.append({
            "cls": cls_t.reshape(height, width, n_classes),
            "weight": weight.reshape(height, width),
            "box": box_t.reshape(height, width, 4),
            "positive": positive.reshape(height, width),
            "centerness": ctr.reshape(height, width),
            "centre": centres.reshape(height, width, 2),
        })
    return maps


def _inside(points: Tensor, boxes: Tensor) -> Tensor:
    """(points, boxes) mask: point strictly inside box."""
    x, y = points[:, 0:1], points[:, 1:2]
    return (x > boxes[None, :, 0]) & (x < boxes[None, :, 2]) & (y > boxes[None, :, 1]) & (
        y < boxes[None, :, 3]
    )


def centerness_target(centres: Tensor, boxes: Tensor) -> Tensor:
    """FCOS centerness of each location in its box: 1 at the centre, ~0 at an edge."""
    left = (centres[:, 0] - boxes[:, 0]).clamp(min=_EPS)
    top = (centres[:, 1] - boxes[:, 1]).clamp(min=_EPS)
    right = (boxes[:, 2] - centres[:, 0]).clamp(min=_EPS)
    bottom = (boxes[:, 3] - centres[:, 1]).clamp(min=_EPS)
    ratio = (torch.minimum(left, right) / torch.maximum(left, right)) * (
        torch.minimum(top, bottom) / torch.maximum(top, bottom)
    )
    return ratio.sqrt()


def giou_loss(predicted: Tensor, target: Tensor) -> Tensor:
    """1 - generalised IoU of matching xyxy rows."""
    top_left = torch.maximum(predicted[:, :2], target[:, :2])
    bottom_right = torch.minimum(predicted[:, 2:], target[:, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    area_p = (predicted[:, 2:] - predicted[:, :2]).clamp(min=0).prod(dim=1)
    area_t = (target[:, 2:] - target[:, :2]).clamp(min=0).prod(dim=1)
    union = area_p + area_t - inter
    iou = inter / union.clamp(min=_EPS)
    hull = (torch.maximum(predicted[:, 2:], target[:, 2:]) - torch.minimum(
        predicted[:, :2], target[:, :2])).clamp(min=0).prod(dim=1)
    return 1.0 - (iou - (hull - union) / hull.clamp(min=_EPS))


def focal_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Sigmoid focal loss per element (RetinaNet), so easy background does not dominate."""
    probability = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = probability * targets + (1 - probability) * (1 - targets)
    alpha = _FOCAL_ALPHA * targets + (1 - _FOCAL_ALPHA) * (1 - targets)
    return alpha * ce * (1 - p_t) ** _FOCAL_GAMMA

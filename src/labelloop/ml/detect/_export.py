"""Export a trained detector as one ONNX graph for pre-labeling and model download.

Contract of the exported model:
- input ``images``: float32 ``(n, 3, S, S)`` RGB, ``S`` = ``input_size`` of the detector
  (metadata ``input_size``), normalised as ``(pixel - 127) / 128``; the image is scaled so its
  long side is ``S`` and placed in the top-left corner, the rest filled with pixel value 127;
- outputs ``boxes (n, m, 4)`` float32 ``x0, y0, x1, y1`` in input pixels (divide by the scale
  factor ``S / max(width, height)`` for image pixels), ``scores (n, m)`` float32 calibrated
  (probability that the box is right; 0 on padding rows), ``labels (n, m)`` int64;
  ``m = max_detections``, best first;
- metadata ``show_threshold``: show boxes scoring at or above it.

NMS inside the graph is the matrix form (a box is dropped when a higher-scored box of its label
overlaps it by more than the IoU threshold, whether or not that box was itself dropped): it
needs no loop, so it exports to plain ONNX operators. It can drop slightly more than the
greedy NMS ``predict`` uses, in chains of three or more overlapping boxes.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from labelloop.ml.detect._head import CandidateDecoder
from labelloop.ml.detect._inference import NMS_IOU
from labelloop.ml.features.efficientnet_lite import load_efficientnet_lite0

_PRE_NMS = 300
_LOGIT_CLIP = 1e-4


class DetectionGraph(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module, slope: float, intercept: float,
                 max_detections: int):
        super().__init__()
        self.backbone = backbone
        self.decoder = CandidateDecoder(head, top_k=_PRE_NMS)
        self.slope, self.intercept = slope, intercept
        self.max_detections = max_detections

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        pyramid = self.backbone.forward_pyramid(images)
        boxes, raw, labels = self.decoder(pyramid[8], pyramid[16], pyramid[32])
        clipped = raw.clamp(_LOGIT_CLIP, 1 - _LOGIT_CLIP)
        scores = torch.sigmoid(self.slope * torch.log(clipped / (1 - clipped)) + self.intercept)
        keep = matrix_nms_keep(boxes, scores, labels, NMS_IOU)
        scores = scores * keep.to(scores.dtype)
        top, order = torch.topk(scores, self.max_detections, dim=1)
        boxes = torch.gather(boxes, 1, order.unsqueeze(2).expand(-1, -1, 4))
        return boxes, top, torch.gather(labels, 1, order)


def matrix_nms_keep(boxes: Tensor, scores: Tensor, labels: Tensor, iou_threshold: float
                    ) -> Tensor:
    """(n, k) mask of candidates not overlapping a higher-scored same-label candidate.
    Candidates must come sorted by falling score (as ``CandidateDecoder`` returns them)."""
    top_left = torch.maximum(boxes[:, :, None, :2], boxes[:, None, :, :2])
    bottom_right = torch.minimum(boxes[:, :, None, 2:], boxes[:, None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=3)
    area = (boxes[:, :, 2:] - boxes[:, :, :2]).clamp(min=0).prod(dim=2)
    union = area[:, :, None] + area[:, None, :] - inter
    iou = inter / union.clamp(min=1e-9)
    same_label = labels[:, :, None] == labels[:, None, :]
    k = boxes.shape[1]
    earlier = torch.ones(k, k).triu(diagonal=1).bool()  # [i, j]: i ranks above j
    suppressing = (iou > iou_threshold) & same_label & earlier[None]
    return ~suppressing.any(dim=1)


def export_detector(detector, path: Path, *, max_detections: int = 100) -> Path:
    import onnx

    meta = detector.meta
    graph = DetectionGraph(load_efficientnet_lite0(detector.weights_path), detector.head(),
                           meta.platt.slope, meta.platt.intercept,
                           min(max_detections, _PRE_NMS)).eval()
    example = torch.zeros(1, 3, meta.input_size, meta.input_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape-derived ints; sizes are fixed
        torch.onnx.export(graph, (example,), str(path), input_names=["images"],
                          output_names=["boxes", "scores", "labels"],
                          dynamic_axes={name: {0: "batch"} for name in
                                        ("images", "boxes", "scores", "labels")},
                          opset_version=17, dynamo=False)
    model = onnx.load(str(path))
    properties = {
        "input_size": str(meta.input_size), "normalisation": "(x - 127) / 128, RGB, NCHW",
        "letterbox": "long side to input_size, top-left, pad 127",
        "show_threshold": f"{meta.stats.show_threshold:.6f}",
        "hint_threshold": f"{meta.stats.hint_threshold:.6f}",
        "n_classes": str(meta.n_classes), "boxes": "xyxy input pixels",
    }
    for key, value in properties.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path

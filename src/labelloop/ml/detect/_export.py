"""Export a trained detector as one ONNX graph for pre-labeling and model download.

Contract of the exported model:
- input ``images``: float32 ``(n, 3, S, S)`` RGB, ``S`` = ``input_size`` of the detector
  (metadata ``input_size``), normalised as ``(pixel - 127) / 128``; the image is scaled so its
  long side is ``S`` and placed in the top-left corner, the rest filled with pixel value 127;
- outputs ``boxes (n, m, 4)`` float32 ``x0, y0, x1, y1`` in input pixels (divide by the scale
  factor ``S / max(width, height)`` for image pixels), ``scores (n, m)`` float32 calibrated
  (probability that the box is right), ``labels (n, m)`` int64; ``m = max_detections``, best
  first; rows past the last candidate are padding: label -1, score 0, box 0;
- metadata ``show_threshold``: show boxes scoring at or above it.

The graph computes what ``TrainedDetector`` computes for the original view (``all_candidates``;
``predict`` shows those at or above the show threshold): the mirrored view ``predict`` also
runs only types hard examples and hints, it adds no box and changes no score, so it is not in
the graph. Step by step, as ``_inference.candidates_for`` does it:
- backbone pyramid, rounded to float16 and back (the native feature store keeps features as
  float16), then the head and the same ``CandidateDecoder`` (top 1000 location-class pairs,
  sorted by falling raw score);
- boxes clipped to the image, which the graph finds from the padding (exactly 0 after
  normalisation; the long side always spans ``S``). The native path clips in image pixels at
  ``width, height``, i.e. at ``height * S / width`` input pixels for a landscape image, where
  the graph sees the rounded ``round(height * S / width)`` rows: the same when that is a whole
  number (4:3, 3:4, 16:9 images at every ``INPUT_SIZES``), else up to half an input pixel
  apart, which moves a box crossing that edge and can flip an NMS decision at IoU ~0.5
  (5 of 200 generated 304x224 and 224x304 images at S=256, all far under the show threshold;
  never a shown box). Boxes narrower than one image pixel (``min_side`` input pixels, from the
  training images' median long side: the graph cannot see the image's size) and raw scores
  under ``CANDIDATE_FLOOR`` are dropped;
- greedy class-wise NMS with ONNX's ``NonMaxSuppression`` (it drops a box overlapping an already
  kept box of its class by IoU > ``NMS_IOU``, as ``boxes.nms``). It is fed the candidates' ranks
  instead of their scores: its priority queue breaks score ties in no defined order, the
  native sort keeps the earlier candidate, and the decoder's order is the native order;
- kept candidates by falling raw score (ties: lower label, then earlier candidate, as
  ``boxes.batched_nms``), at most ``MAX_CANDIDATES``, scores through the Platt map.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from labelloop.ml.detect._head import STRIDES, CandidateDecoder
from labelloop.ml.detect._inference import CANDIDATE_FLOOR, MAX_CANDIDATES, NMS_IOU
from labelloop.ml.features.efficientnet_lite import load_efficientnet_lite0

_LOGIT_CLIP = 1e-4  # as ``_calibration.PlattMap``
_OPSET = 17


class DetectionGraph(nn.Module):
    def __init__(
        self,
        backbone: nn.Module,
        head: nn.Module,
        slope: float,
        intercept: float,
        max_detections: int,
        *,
        min_side: float = 1.0,
    ):
        super().__init__()
        self.backbone = backbone
        # Its default top_k, as ``_inference``'s runners decode.
        self.decoder = CandidateDecoder(head)
        self.n_classes = head.n_classes
        self.slope, self.intercept = slope, intercept
        self.max_detections = max_detections
        self.min_side = min_side

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        pyramid = self.backbone.forward_pyramid(images)
        # The native feature store keeps features as float16: the head reads them rounded so.
        levels = [pyramid[stride].half().float() for stride in STRIDES]
        boxes, raw, labels = self.decoder(*levels)
        k = raw.shape[1]
        extent = image_extent(images)
        boxes = torch.minimum(boxes.clamp(min=0.0), torch.cat([extent, extent], 1)[:, None, :])
        sides = boxes[:, :, 2:] - boxes[:, :, :2]
        valid = (raw >= CANDIDATE_FLOOR) & (sides >= self.min_side).all(dim=2)
        keep = greedy_nms_keep(boxes, labels, valid, self.n_classes, NMS_IOU)

        # Falling raw score, ties by (label, candidate): first order by (label, candidate),
        # then TopK, which keeps equal values in input order.
        position = torch.arange(k, dtype=torch.int64)
        by_label = torch.topk(-(labels * k + position).to(torch.float32), k, dim=1).indices
        ranked = torch.gather(torch.where(keep, raw, torch.full_like(raw, -1.0)), 1, by_label)
        top, where = torch.topk(ranked, min(self.max_detections, k), dim=1)
        index = torch.gather(by_label, 1, where)
        real = top >= 0
        clipped = top.clamp(_LOGIT_CLIP, 1 - _LOGIT_CLIP)
        scores = torch.sigmoid(self.slope * torch.log(clipped / (1 - clipped)) + self.intercept)
        out_boxes = torch.gather(boxes, 1, index.unsqueeze(2).expand(-1, -1, 4))
        return (
            out_boxes * real.unsqueeze(2).to(out_boxes.dtype),
            torch.where(real, scores, torch.zeros_like(scores)),
            torch.where(real, torch.gather(labels, 1, index), torch.full_like(index, -1)),
        )


def image_extent(images: Tensor) -> Tensor:
    """(n, 2) width and height in input pixels of the letterboxed image in each input: the
    columns/rows up to the last one holding a pixel that is not padding (0 after
    normalisation). The long side always spans the input; an image whose last columns (rows)
    are exactly the padding grey is taken a little narrower (lower) than it is."""
    size = images.shape[-1]
    signal = images.abs().amax(dim=1)  # (n, S, S)
    ordinal = torch.arange(1, size + 1, dtype=images.dtype)
    width = ((signal.amax(dim=1) > 0).to(images.dtype) * ordinal).amax(dim=1)
    height = ((signal.amax(dim=2) > 0).to(images.dtype) * ordinal).amax(dim=1)
    longest = torch.maximum(width, height)
    full = torch.full_like(width, float(size))
    return torch.stack(
        [torch.where(width == longest, full, width), torch.where(height == longest, full, height)],
        dim=1,
    )


def greedy_nms_keep(
    boxes: Tensor, labels: Tensor, valid: Tensor, n_classes: int, iou_threshold: float
) -> Tensor:
    """(n, k) mask of the candidates greedy class-wise NMS keeps among the ``valid`` ones.
    Candidates come sorted by falling score (as ``CandidateDecoder`` returns them); NMS sees
    their ranks (k, k-1, ..., 1) so ties go to the earlier candidate, as in ``boxes.nms``."""
    k = boxes.shape[1]
    rank = torch.arange(k, 0, -1, dtype=torch.float32)
    classes = torch.arange(n_classes, dtype=labels.dtype)
    member = (labels[:, None, :] == classes[None, :, None]) & valid[:, None, :]
    scores = member.to(torch.float32) * rank  # (n, classes, k); 0 = not a candidate
    selected = _NonMaxSuppression.apply(
        boxes,
        scores,
        torch.tensor([k], dtype=torch.int64),
        torch.tensor([iou_threshold], dtype=torch.float32),
        torch.tensor([0.0], dtype=torch.float32),
    )
    keep = torch.zeros_like(valid)
    keep[selected[:, 0], selected[:, 2]] = True
    return keep


class _NonMaxSuppression(torch.autograd.Function):
    """ONNX ``NonMaxSuppression`` (boxes given as any two opposite corners): (selected, 3)
    rows (batch, class, box). Eager torch runs the same greedy rule in numpy."""

    @staticmethod
    def forward(
        ctx,
        boxes: Tensor,
        scores: Tensor,
        max_per_class: Tensor,
        iou: Tensor,
        score_threshold: Tensor,
    ) -> Tensor:
        from labelloop.ml.detect.boxes import nms

        rows = []
        box_array, score_array = boxes.detach().numpy(), scores.detach().numpy()
        for batch in range(score_array.shape[0]):
            for cls in range(score_array.shape[1]):
                members = np.flatnonzero(score_array[batch, cls] > float(score_threshold))
                kept = members[
                    nms(box_array[batch, members], score_array[batch, cls, members], float(iou))
                ][: int(max_per_class)]
                rows += [(batch, cls, int(i)) for i in kept]
        return torch.tensor(rows, dtype=torch.int64).reshape(-1, 3)

    @staticmethod
    def symbolic(g, boxes, scores, max_per_class, iou, score_threshold):
        return g.op("NonMaxSuppression", boxes, scores, max_per_class, iou, score_threshold)


def export_detector(detector, path: Path, *, max_detections: int = MAX_CANDIDATES) -> Path:
    import onnx

    meta = detector.meta
    long_side = meta.stats.typical_long_side
    min_side = meta.input_size / long_side if long_side > 0 else 1.0
    graph = DetectionGraph(
        load_efficientnet_lite0(detector.weights_path),
        detector.head(),
        meta.platt.slope,
        meta.platt.intercept,
        min(max_detections, MAX_CANDIDATES),
        min_side=min_side,
    ).eval()
    example = torch.zeros(1, 3, meta.input_size, meta.input_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape-derived ints; sizes are fixed
        torch.onnx.export(
            graph,
            (example,),
            str(path),
            input_names=["images"],
            output_names=["boxes", "scores", "labels"],
            dynamic_axes={name: {0: "batch"} for name in ("images", "boxes", "scores", "labels")},
            opset_version=_OPSET,
            dynamo=False,
        )
    model = onnx.load(str(path))
    properties = {
        "input_size": str(meta.input_size),
        "normalisation": "(x - 127) / 128, RGB, NCHW",
        "letterbox": "long side to input_size, top-left, pad 127",
        # In full: a box scoring between a rounded and the exact threshold would be shown by
        # one and not the other.
        "show_threshold": repr(float(meta.stats.show_threshold)),
        "hint_threshold": repr(float(meta.stats.hint_threshold)),
        "n_classes": str(meta.n_classes),
        "boxes": "xyxy input pixels",
        "padding": "label -1, score 0",
        "nms": f"greedy per class, IoU > {NMS_IOU}, raw score >= {CANDIDATE_FLOOR}",
    }
    for key, value in properties.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))
    return path

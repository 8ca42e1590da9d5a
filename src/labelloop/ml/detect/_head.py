"""The detection head: a small FPN neck and an FCOS-style anchor-free head, and its decoding.

Why this shape:
- Objects range from blood platelets (~6% of the image side) to a card or an animal filling
  the frame, so every stride (8, 16, 32) predicts, each for the object sizes it suits
  (``LEVEL_RANGES``); one output stride for all sizes was what made a CenterNet prototype place
  large boxes loosely.
- The backbone is frozen and only a handful of images are labeled: the head is tiny
  (one separable 3x3 convolution a level, 1x1 layers, 64 channels, dropout) so it trains on a
  CPU from cached features in minutes and does not memorise its few images.
- Boxes are distances to the four edges (left, top, right, bottom) from each location, trained
  with a GIoU loss (which scores box tightness directly), plus a centerness branch that ranks
  well-centred locations first, as in FCOS.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from labelloop.ml.features.efficientnet_lite import PYRAMID_CHANNELS

STRIDES = (8, 16, 32)
# Object size (longest side, input pixels) each level learns; neighbours overlap so that an
# object near a boundary is learned by both levels (more positives from few images).
LEVEL_RANGES = {8: (0.0, 128.0), 16: (64.0, 256.0), 32: (128.0, float("inf"))}
_PRIOR_PROBABILITY = 0.01  # initial foreground probability (focal-loss initialisation)
_MAX_LOG_DISTANCE = 6.0  # exp(6) = 403 strides: no box is bigger; keeps exp finite


def _pointwise(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True))


def _separable(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
                         nn.Conv2d(channels, channels, 1), nn.ReLU(inplace=True))


class DetectionHead(nn.Module):
    """(p8, p16, p32) backbone features -> per level (class logits, ltrb distances, centerness)."""

    def __init__(self, n_classes: int, width: int = 64, dropout: float = 0.1):
        super().__init__()
        self.n_classes = n_classes
        self.lateral = nn.ModuleList(nn.Conv2d(PYRAMID_CHANNELS[s], width, 1) for s in STRIDES)
        # One separable 3x3 per level for local context (the backbone features already see
        # far), then 1x1 layers shared by the levels: a dense 3x3 cost 3x the training time.
        self.smooth = nn.ModuleList(_separable(width) for _ in STRIDES)
        self.tower = nn.Sequential(_pointwise(width), _pointwise(width))
        self.dropout = nn.Dropout2d(dropout)
        self.classes = nn.Conv2d(width, n_classes, 1)
        self.distances = nn.Conv2d(width, 4, 1)
        self.centerness = nn.Conv2d(width, 1, 1)
        self.level_scale = nn.Parameter(torch.ones(len(STRIDES)))
        prior_bias = -torch.log(torch.tensor((1 - _PRIOR_PROBABILITY) / _PRIOR_PROBABILITY))
        nn.init.constant_(self.classes.bias, float(prior_bias))
        nn.init.normal_(self.distances.weight, std=0.01)
        nn.init.constant_(self.distances.bias, 0.0)

    def forward(self, p8: Tensor, p16: Tensor, p32: Tensor) -> list[tuple[Tensor, Tensor, Tensor]]:
        lateral = [conv(p.float()) for conv, p in zip(self.lateral, (p8, p16, p32), strict=True)]
        # Top-down: coarse context (what the object is) flows into the finer levels.
        merged = [lateral[2]]
        for level in (1, 0):
            up = F.interpolate(merged[0], size=lateral[level].shape[-2:], mode="nearest")
            merged.insert(0, lateral[level] + up)
        outputs = []
        for level, (stride, features) in enumerate(zip(STRIDES, merged, strict=True)):
            shared = self.dropout(self.tower(self.smooth[level](features)))
            log_distance = (self.distances(shared) * self.level_scale[level]).clamp(
                max=_MAX_LOG_DISTANCE
            )
            outputs.append((self.classes(shared), torch.exp(log_distance) * stride,
                            self.centerness(shared)))
        return outputs


def location_centres(height: int, width: int, stride: int, device=None) -> Tensor:
    """(height*width, 2) x, y of each feature cell's centre in input pixels, row-major."""
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) * stride
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) * stride
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=1)


class CandidateDecoder(nn.Module):
    """Head outputs -> the ``top_k`` best (box, score, label) candidates per image.

    Candidates are (location, class) pairs, so one location may propose two labels: a rare
    class is not pushed out of the top-k by the many locations of a frequent one, and a box
    proposed with two labels tells the hard-example logic that its class is ambiguous.
    Score = sqrt(class probability x centerness), as in FCOS. No NMS here: ``predict`` runs
    greedy NMS in numpy, the exported graph adds a matrix NMS (``_export``).
    """

    def __init__(self, head: DetectionHead, top_k: int = 1000):
        super().__init__()
        self.head = head
        self.top_k = top_k

    def forward(self, p8: Tensor, p16: Tensor, p32: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        boxes, probabilities = [], []
        for stride, (logits, ltrb, centerness) in zip(
            STRIDES, self.head(p8, p16, p32), strict=True
        ):
            height, width = logits.shape[-2:]
            centres = location_centres(height, width, stride)
            ltrb = ltrb.flatten(2).transpose(1, 2)  # (n, hw, 4)
            boxes.append(torch.cat([centres - ltrb[..., :2], centres + ltrb[..., 2:]], dim=2))
            quality = torch.sigmoid(logits) * torch.sigmoid(centerness)
            probabilities.append(torch.sqrt(quality.clamp(min=1e-12)).flatten(2).transpose(1, 2))
        all_boxes = torch.cat(boxes, dim=1)  # (n, locations, 4)
        flat = torch.cat(probabilities, dim=1).flatten(1)  # (n, locations * classes)
        n_classes = self.head.n_classes
        scores, order = torch.topk(flat, min(self.top_k, flat.shape[1]), dim=1)
        locations = torch.div(order, n_classes, rounding_mode="floor")
        labels = order - locations * n_classes
        gathered = torch.gather(all_boxes, 1, locations.unsqueeze(2).expand(-1, -1, 4))
        return gathered, scores, labels

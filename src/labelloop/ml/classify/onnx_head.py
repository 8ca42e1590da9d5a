"""Backbone + LinearHead as one ONNX graph: images in, class probabilities out.

Used to export a trained classification model so that it runs anywhere ONNX Runtime does, and
comes back through the registry like any uploaded model (see ml/runtime/contract.py).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from labelloop.ml.classify.portable import LinearHead

INPUT_NAME = "images"
OUTPUT_NAME = "scores"


def export_classifier_onnx(
    head: LinearHead, destination: Path, *, weights_path=None, flip_average: bool = False
) -> None:
    """Write backbone (EfficientNet-Lite0 embedding) + head to ``destination`` atomically.

    ``flip_average``: embed the image and its horizontal mirror and average the two embeddings
    before the head, as jobs do (``config["flip_average"]``), so the exported model answers
    what the native one does.
    """
    import torch  # training-side dependency: only loaded when exporting

    from labelloop.ml.features.efficientnet_lite import load_efficientnet_lite0

    backbone = load_efficientnet_lite0(weights_path).eval()

    class Classifier(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone
            as_tensor = lambda a: torch.nn.Parameter(  # noqa: E731 - four one-liners
                torch.as_tensor(np.asarray(a, dtype=np.float32)), requires_grad=False
            )
            self.mean = as_tensor(head.mean)
            self.coef = as_tensor(head.coef)
            self.intercept = as_tensor(head.intercept)
            self.has_projection = head.components is not None
            if self.has_projection:
                self.components = as_tensor(head.components)
                self.scale = as_tensor(head.scale)
            self.power = head.power
            self.temperature = float(head.temperature)

        def forward(self, images):
            x = self.backbone.forward_embedding(images)
            if flip_average:
                mirrored = self.backbone.forward_embedding(torch.flip(images, dims=[3]))
                x = (x + mirrored) / 2
            if self.power is not None and self.power != 1.0:
                x = torch.sign(x) * torch.abs(x).pow(self.power)
            x = torch.nn.functional.normalize(x, dim=1, eps=1e-12) - self.mean
            if self.has_projection:
                x = (x @ self.components.T) / self.scale
            x = torch.nn.functional.normalize(x, dim=1, eps=1e-12)
            logits = x @ self.coef.T + self.intercept
            if logits.shape[1] == 1:
                logits = torch.cat([torch.zeros_like(logits), logits], dim=1)
            return torch.softmax(logits / self.temperature, dim=1)

    model = Classifier().eval()
    dummy = torch.zeros(1, 3, 224, 224)
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=destination.parent, suffix=".onnx.part")
    os.close(fd)
    try:
        with torch.no_grad():
            torch.onnx.export(
                model,
                (dummy,),
                tmp,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, destination)
    finally:
        Path(tmp).unlink(missing_ok=True)

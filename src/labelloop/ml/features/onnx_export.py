"""Export the backbone to ONNX once and keep the file in a caller-given cache directory.

Inference runs in ONNX Runtime (about 10x torch eager on 2 CPU cores, see design section 4), so
the torch graph is exported the first time it is needed and reused afterwards. The file name
carries the weights' sha256 and ``GRAPH_VERSION``: new weights or a changed graph get a new
file, never a stale one. The file is written to a temporary name and renamed, so a process
that reads it, or a second process exporting at the same time, never sees half a file.

torch is imported inside the export functions only: when the file is already cached, running
the backbone needs onnxruntime alone, and a CLI start does not pay for importing torch.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from enum import StrEnum
from pathlib import Path

from labelloop.ml.features.weights import BACKBONE_NAME, resolve_weights_path, weights_sha256

# Bump when the exported graph changes for the same weights (architecture fix, opset, outputs).
GRAPH_VERSION = 1
ONNX_OPSET = 17
# Size of the example input used for tracing; the batch axis is dynamic in both graphs and the
# pyramid graph's spatial axes are dynamic too (any multiple of 32).
EXPORT_INPUT_SIZE = 224
INPUT_NAME = "image"
EMBEDDING_OUTPUT = "embedding"
PYRAMID_OUTPUTS = {8: "p8", 16: "p16", 32: "p32"}
_SHA_DIGITS_IN_NAME = 16
_CACHE_FILE_MODE = 0o644


class GraphKind(StrEnum):
    EMBEDDING = "embedding"  # image (n,3,224,224) -> embedding (n,1280)
    PYRAMID = "pyramid"  # image (n,3,H,W) -> p8, p16, p32


def onnx_file_name(kind: GraphKind, weights_sha: str) -> str:
    return f"{BACKBONE_NAME}-{kind.value}-{weights_sha[:_SHA_DIGITS_IN_NAME]}-g{GRAPH_VERSION}.onnx"


def ensure_onnx(
    cache_dir: str | Path,
    kind: GraphKind | str = GraphKind.EMBEDDING,
    *,
    weights_path: str | Path | None = None,
) -> Path:
    """Path of the cached ONNX graph of ``kind``, exporting it first if it is not there."""
    kind = GraphKind(kind)
    weights = resolve_weights_path(weights_path)
    cache = Path(cache_dir)
    target = cache / onnx_file_name(kind, weights_sha256(weights))
    if target.is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    # Same directory as the target, so os.replace is an atomic rename on one filesystem.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=cache)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _export(kind, weights, tmp)
        tmp.chmod(_CACHE_FILE_MODE)  # mkstemp makes it owner-only; the cache is shared
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _export(kind: GraphKind, weights: Path, destination: Path) -> None:
    import torch

    from labelloop.ml.features.efficientnet_lite import (
        EmbeddingGraph,
        PyramidGraph,
        load_efficientnet_lite0,
    )

    model = load_efficientnet_lite0(weights)
    example = torch.zeros(1, 3, EXPORT_INPUT_SIZE, EXPORT_INPUT_SIZE)
    if kind is GraphKind.EMBEDDING:
        graph: torch.nn.Module = EmbeddingGraph(model)
        outputs = [EMBEDDING_OUTPUT]
        dynamic_axes = {INPUT_NAME: {0: "batch"}, EMBEDDING_OUTPUT: {0: "batch"}}
    else:
        graph = PyramidGraph(model)
        outputs = [PYRAMID_OUTPUTS[s] for s in sorted(PYRAMID_OUTPUTS)]
        dynamic_axes = {INPUT_NAME: {0: "batch", 2: "height", 3: "width"}}
        for stride, name in PYRAMID_OUTPUTS.items():
            dynamic_axes[name] = {0: "batch", 2: f"height/{stride}", 3: f"width/{stride}"}
    with torch.no_grad(), warnings.catch_warnings():
        # The pad operators' reversed index lists cannot be constant-folded; harmless.
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        # The legacy exporter is chosen on purpose (see below); its deprecation notice and
        # internal warnings would only alarm users at every first run.
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        warnings.filterwarnings("ignore", message="You are using the legacy TorchScript")
        torch.onnx.export(
            graph.eval(),
            (example,),
            str(destination),
            input_names=[INPUT_NAME],
            output_names=outputs,
            dynamic_axes=dynamic_axes,
            opset_version=ONNX_OPSET,
            do_constant_folding=True,
            # The legacy TorchScript exporter handles this plain conv net fully and needs no
            # onnxscript at run time; the dynamo exporter gives no benefit here.
            dynamo=False,
        )

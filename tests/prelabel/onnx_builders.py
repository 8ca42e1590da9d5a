"""Small real ONNX models built with onnx.helper, and the contracts that describe them.

Classification: the mean of each input channel -> a linear layer -> logits (or softmax). With
weights ``COLOR_WEIGHTS`` a reddish image scores "red", a greenish one "green" and so on, so
predictions on seeded colour images are known in advance.

Detection: fixed boxes (in model input pixels) whose scores depend on the image's mean colour,
so tests know where the boxes must land in original image pixels after the resize is undone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from labelloop.ml.runtime.contract import ModelContract

OPSET = 17
# Logit weights (3 channels -> 3 classes): channel i votes for class i, strongly.
COLOR_WEIGHTS = np.eye(3, dtype=np.float32) * 8.0


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _channel_means(input_name: str, layout: str) -> list[onnx.NodeProto]:
    """(n, 3) mean of each channel, whatever the layout."""
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    return [helper.make_node("ReduceMean", [input_name], ["means"], axes=axes, keepdims=0)]


def classifier(
    path: Path,
    *,
    classes: int = 3,
    size: tuple[int, int] = (32, 32),
    layout: str = "NCHW",
    probabilities: bool = False,
    input_name: str = "images",
    output_name: str = "scores",
    weights: np.ndarray | None = None,
    batch: int | str = "n",
    log_shift: float | None = None,
) -> Path:
    """(n, 3, H, W) or (n, H, W, 3) -> (n, classes) logits or probabilities. With
    ``log_shift`` the logits become log(logits - log_shift): NaN for dark images, whose logits
    fall below the shift (a broken model, for the checks that refuse non-finite answers)."""
    width, height = size
    shape = [batch, 3, height, width] if layout == "NCHW" else [batch, height, width, 3]
    w = weights if weights is not None else _weights(classes)
    nodes = _channel_means(input_name, layout)
    nodes.append(helper.make_node("MatMul", ["means", "W"], ["raw_logits"]))
    initializers = [numpy_helper.from_array(w.astype(np.float32), "W")]
    if log_shift is None:
        nodes.append(helper.make_node("Identity", ["raw_logits"], ["logits"]))
    else:
        nodes.append(helper.make_node("Sub", ["raw_logits", "shift"], ["shifted"]))
        nodes.append(helper.make_node("Log", ["shifted"], ["logits"]))
        initializers.append(numpy_helper.from_array(np.array(log_shift, np.float32), "shift"))
    if probabilities:
        nodes.append(helper.make_node("Softmax", ["logits"], [output_name], axis=1))
    else:
        nodes.append(helper.make_node("Identity", ["logits"], [output_name]))
    graph = helper.make_graph(
        nodes,
        "colour-classifier",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [batch, w.shape[1]])],
        initializer=initializers,
    )
    return _save(graph, path)


def _weights(classes: int) -> np.ndarray:
    w = np.zeros((3, classes), dtype=np.float32)
    w[:, : min(3, classes)] = COLOR_WEIGHTS[:, : min(3, classes)]
    return w


def detector(
    path: Path,
    boxes: np.ndarray,
    labels: np.ndarray,
    score_weights: np.ndarray,
    *,
    size: tuple[int, int] = (64, 64),
    layout: str = "NCHW",
    score_bias: np.ndarray | None = None,
    sigmoid: bool = True,
) -> Path:
    """Fixed ``boxes`` (m, 4) xyxy in input pixels with ``labels`` (m,); scores are
    sigmoid(channel means @ score_weights (3, m) + score_bias), or the raw logits without
    ``sigmoid`` (a model that breaks the contract's 0..1 scores)."""
    width, height = size
    m = len(boxes)
    shape = ["n", 3, height, width] if layout == "NCHW" else ["n", height, width, 3]
    nodes = _channel_means("images", layout)
    nodes += [
        helper.make_node("Shape", ["images"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["n"]),
        helper.make_node("Concat", ["n", "ones2"], ["tile_boxes"], axis=0),
        helper.make_node("Tile", ["box_const", "tile_boxes"], ["boxes"]),
        helper.make_node("Concat", ["n", "ones1"], ["tile_labels"], axis=0),
        helper.make_node("Tile", ["label_const", "tile_labels"], ["labels"]),
        helper.make_node("MatMul", ["means", "SW"], ["raw"]),
        helper.make_node("Add", ["raw", "SB"], ["biased"]),
        helper.make_node("Sigmoid" if sigmoid else "Identity", ["biased"], ["scores"]),
    ]
    bias = score_bias if score_bias is not None else np.zeros(m, dtype=np.float32)
    graph = helper.make_graph(
        nodes,
        "fixed-box-detector",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, shape)],
        [
            helper.make_tensor_value_info("boxes", TensorProto.FLOAT, ["n", m, 4]),
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", m]),
            helper.make_tensor_value_info("labels", TensorProto.INT64, ["n", m]),
        ],
        initializer=[
            numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
            numpy_helper.from_array(np.array([1, 1], dtype=np.int64), "ones2"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "ones1"),
            numpy_helper.from_array(np.asarray(boxes, np.float32)[None], "box_const"),
            numpy_helper.from_array(np.asarray(labels, np.int64)[None], "label_const"),
            numpy_helper.from_array(np.asarray(score_weights, np.float32), "SW"),
            numpy_helper.from_array(np.asarray(bias, np.float32), "SB"),
        ],
    )
    return _save(graph, path)


def contract(task_type: str, class_names, **fields) -> ModelContract:
    """A contract for the models above: identity normalisation (mean 0, std 255) unless told."""
    fields.setdefault("mean", (0.0, 0.0, 0.0))
    fields.setdefault("std", (255.0, 255.0, 255.0))
    return ModelContract(task_type=task_type, class_names=tuple(class_names), **fields)

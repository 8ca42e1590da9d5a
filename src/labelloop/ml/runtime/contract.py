"""The contract of a model file labelloop can run: how to feed it, what it answers.

Every model in the registry that runs locally is an ONNX file plus this contract (stored as
``contract.json`` beside it): models trained by smart-labeling jobs are exported this way, and
uploaded ONNX models declare it when they are registered. So one runtime runs them all.

Input: one tensor of float32 images, RGB or BGR, NCHW or NHWC, resized to ``size``: "squash"
(stretch), "letterbox" (keep the aspect ratio, centre, pad with ``pad_value``),
"letterbox-top-left" (the same in the top-left corner, as trained detectors see images) or
"center-crop" (short side to size, middle cut out, as the classification backbone sees images);
then ``(pixel - mean) / std`` per channel, ``mean``/``std`` in the model's channel order.
Outputs:
- classification: ``scores`` (n, k) — probabilities when ``outputs_probabilities`` else logits;
- detection: ``boxes`` (n, m, 4) xyxy in input pixels, ``scores`` (n, m), ``labels`` (n, m).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

TASKS = ("classification", "detection")
LAYOUTS = ("NCHW", "NHWC")
CHANNEL_ORDERS = ("RGB", "BGR")
RESIZE_MODES = ("squash", "letterbox", "letterbox-top-left", "center-crop")


class ContractError(ValueError):
    """The contract itself is malformed (a model breaking it is reported by the runtime)."""


@dataclass(frozen=True)
class ModelContract:
    task_type: str
    class_names: tuple[str, ...]
    size: tuple[int, int] = (224, 224)  # (width, height) of the input image
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)
    channels: str = "RGB"
    layout: str = "NCHW"
    resize: str = "squash"
    input_name: str = "images"
    outputs_probabilities: bool = True  # classification: softmax already applied
    output_names: dict[str, str] = field(default_factory=dict)  # role -> graph output name
    pad_value: float = 114.0  # letterbox padding, a pixel value 0-255 (YOLO's grey by default)

    def __post_init__(self) -> None:
        problems = []
        if self.task_type not in TASKS:
            problems.append(f"task_type must be one of {TASKS}, not {self.task_type!r}")
        if not self.class_names or any(not str(c).strip() for c in self.class_names):
            problems.append("class_names must be a non-empty list of non-empty names")
        if len(set(self.class_names)) != len(self.class_names):
            problems.append("class_names holds duplicates")
        if len(self.size) != 2 or any(int(s) < 8 or int(s) > 4096 for s in self.size):
            problems.append(f"size must be [width, height] between 8 and 4096, not {self.size}")
        if len(self.mean) != 3 or len(self.std) != 3 or any(float(s) == 0 for s in self.std):
            problems.append("mean and std must hold 3 numbers each, std non-zero")
        if self.channels not in CHANNEL_ORDERS:
            problems.append(f"channels must be one of {CHANNEL_ORDERS}")
        if self.layout not in LAYOUTS:
            problems.append(f"layout must be one of {LAYOUTS}")
        if self.resize not in RESIZE_MODES:
            problems.append(f"resize must be one of {RESIZE_MODES}")
        if not 0.0 <= float(self.pad_value) <= 255.0:
            problems.append("pad_value must be a pixel value between 0 and 255")
        if problems:
            raise ContractError("; ".join(problems))

    def output_name(self, role: str) -> str:
        return self.output_names.get(role, role)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["class_names"] = list(self.class_names)
        data["size"] = list(self.size)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelContract:
        if not isinstance(data, dict):
            raise ContractError("the contract must be a JSON object")
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ContractError(f"unknown contract fields: {', '.join(sorted(unknown))}")
        if "task_type" not in data or "class_names" not in data:
            missing = "task_type" if "task_type" not in data else "class_names"
            raise ContractError(f"the contract lacks the field {missing!r}")
        # Strict types: Python's str()/bool() would quietly read "abc" as three classes and
        # "false" as True, and the model would then be fed or read wrongly.
        output_names = data.get("output_names", {})
        if not isinstance(output_names, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in output_names.items()
        ):
            raise ContractError("output_names must be an object of role -> output name strings")
        return cls(
            task_type=_text(data, "task_type", None),
            class_names=_items(data, "class_names", None, str),
            size=_items(data, "size", (224, 224), int),
            mean=_items(data, "mean", (127.0, 127.0, 127.0), float),
            std=_items(data, "std", (128.0, 128.0, 128.0), float),
            channels=_text(data, "channels", "RGB"),
            layout=_text(data, "layout", "NCHW"),
            resize=_text(data, "resize", "squash"),
            input_name=_text(data, "input_name", "images"),
            outputs_probabilities=_flag(data, "outputs_probabilities", True),
            output_names=dict(output_names),
            pad_value=_number(data, "pad_value", 114.0),
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> ModelContract:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ContractError(f"cannot read the contract {path.name}: {exc}") from None
        return cls.from_dict(data)


def _wrong_type(field: str, expected: str, value) -> ContractError:
    return ContractError(
        f"contract field {field!r} must be {expected}, not {type(value).__name__} {value!r}"
    )


def _text(data: dict, field: str, default: str | None) -> str:
    value = data.get(field, default)
    if not isinstance(value, str):
        raise _wrong_type(field, "a string", value)
    return value


def _flag(data: dict, field: str, default: bool) -> bool:
    value = data.get(field, default)
    if not isinstance(value, bool):
        raise _wrong_type(field, "true or false", value)
    return value


def _number(data: dict, field: str, default: float) -> float:
    value = data.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(field, "a number", value)
    return float(value)


def _items(data: dict, field: str, default, kind: type) -> tuple:
    value = data.get(field, default)
    if not isinstance(value, list | tuple):
        raise _wrong_type(field, "a list", value)
    items = []
    for item in value:
        if kind is str:
            ok = isinstance(item, str)
        elif kind is int:
            ok = isinstance(item, int) and not isinstance(item, bool)
        else:
            ok = isinstance(item, int | float) and not isinstance(item, bool)
        if not ok:
            raise _wrong_type(field, f"a list of {kind.__name__}", value)
        items.append(kind(item))
    return tuple(items)

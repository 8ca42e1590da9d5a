"""labelloop model list / show / register / export / delete."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from labelloop.domain import InvalidInput
from labelloop.services.context import AppContext

from ._common import JsonFlag, app, fail, out, run_action

model_app = typer.Typer(
    help="The model registry: trained, uploaded ONNX and remote models for pre-labeling.",
    no_args_is_help=True,
)
app.add_typer(model_app, name="model")


def _services():
    from labelloop.services import models

    return models


def _view(model) -> dict:
    """``model_view`` with ``created_at`` always ISO 8601 in UTC with its offset: the row just
    registered holds an aware datetime, one read back from SQLite a naive one (stored as UTC)."""
    view = _services().model_view(model)
    view["created_at"] = _utc_iso(model.created_at)
    return view


def _utc_iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands stored UTC times back naive
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


@model_app.command("list")
def model_list(
    task_type: Annotated[
        str | None, typer.Option("--task-type", help="Only classification or detection models")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Every model version, by name."""
    models = _services()

    def show(items) -> None:
        if not items:
            out.print("no models yet: train one (smart-label --type active) or model register")
            return
        table = Table("id", "model", "task", "source", "classes", "metrics", "created")
        for m in items:
            table.add_row(
                str(m["id"]),
                m["ref"],
                m["task_type"],
                m["source"],
                _short_list(m["class_names"]),
                ", ".join(f"{k}={v}" for k, v in m["metrics"].items()),
                (m["created_at"] or "")[:16].replace("T", " ") + " UTC",
            )
        out.print(table)

    run_action(lambda c: [_view(m) for m in models.list_models(c, task_type)], as_json, show)


@model_app.command("show")
def model_show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION or id")], as_json: JsonFlag = False
) -> None:
    """One model version: task, classes, source, metrics, files or endpoint."""
    models = _services()
    run_action(lambda c: _view(models.get_model(c, ref)), as_json, _show_model)


def _show_model(m: dict) -> None:
    out.print(
        f"model [bold]{escape(m['ref'])}[/] (id {m['id']}): {m['task_type']}, {m['source']}",
        markup=True,
    )
    out.print(
        f"  classes ({len(m['class_names'])}): {', '.join(m['class_names'])}", highlight=False
    )
    for key in ("created_at", "path", "dataset_id", "job_id"):
        if m.get(key) is not None:
            out.print(f"  {key}: {m[key]}", highlight=False)
    for key, value in m["metrics"].items():
        out.print(f"  {key}: {value}", highlight=False)
    config = m["config"]
    if m["source"] == "remote":
        out.print(f"  endpoint: {config.get('url')}", highlight=False)
        out.print(
            f"  timeout {config.get('timeout_s')} s, {config.get('retries')} retries, batches of "
            f"{config.get('batch_size')}, images by {config.get('image_transport')}",
            highlight=False,
        )
    elif "contract" in config:
        c = config["contract"]
        names = c.get("output_names") or {}
        if m["task_type"] == "classification":
            kind = "probabilities" if c["outputs_probabilities"] else "logits"
            outputs = f"{names.get('scores', 'scores')} ({kind})"
        else:
            outputs = ", ".join(names.get(r, r) for r in ("boxes", "scores", "labels"))
        out.print(
            f"  input {c['input_name']!r} {c['layout']} {c['channels']} "
            f"{c['size'][0]}x{c['size'][1]} ({c['resize']}), mean {c['mean']}, std {c['std']}; "
            f"outputs {outputs}",
            highlight=False,
        )
        if config.get("show_threshold") is not None:
            out.print(f"  show_threshold: {config['show_threshold']}", highlight=False)


@model_app.command("register")
def model_register(
    name: str,
    onnx_file: Annotated[Path | None, typer.Option("--onnx", help="An ONNX model file")] = None,
    contract_file: Annotated[
        Path | None, typer.Option("--contract", help="contract.json describing the ONNX model")
    ] = None,
    remote: Annotated[
        str | None, typer.Option("--remote", help="URL of a Label Studio ML backend")
    ] = None,
    task_type: Annotated[
        str | None, typer.Option("--task-type", help="classification or detection")
    ] = None,
    classes: Annotated[str | None, typer.Option(help="Class names, comma-separated")] = None,
    size: Annotated[str | None, typer.Option(help="Input size: WxH or N")] = None,
    mean: Annotated[
        str | None, typer.Option(help="Per-channel mean, e.g. 123.7,116.3,103.5")
    ] = None,
    std: Annotated[str | None, typer.Option(help="Per-channel std, e.g. 58.4,57.1,57.4")] = None,
    channels: Annotated[str | None, typer.Option(help="RGB or BGR")] = None,
    layout: Annotated[str | None, typer.Option(help="NCHW or NHWC")] = None,
    resize: Annotated[str | None, typer.Option(help="squash, letterbox or center-crop")] = None,
    input_name: Annotated[str | None, typer.Option(help="Name of the image input")] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option("--output", help="role=graph_output, roles: scores, boxes, labels"),
    ] = None,
    probabilities: Annotated[
        bool | None,
        typer.Option("--probabilities/--logits", help="Classification output kind"),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Remote: seconds per request [default: 60]")
    ] = None,
    retries: Annotated[
        int | None, typer.Option(help="Remote: retries on errors, 5xx, 429 [default: 3]")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Remote: images per request [default: 8]")
    ] = None,
    image_transport: Annotated[
        str | None,
        typer.Option(help="Remote: http (loopback server) or data-uri [default: http]"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an ONNX file (checked against its contract) or a remote model endpoint."""
    models = _services()
    if (onnx_file is None) == (remote is None):
        fail("give exactly one of --onnx FILE or --remote URL", as_json)
    onnx_only = {
        "--contract": contract_file,
        "--size": size,
        "--mean": mean,
        "--std": std,
        "--channels": channels,
        "--layout": layout,
        "--resize": resize,
        "--input-name": input_name,
        "--output": outputs or None,
        "--probabilities/--logits": probabilities,
    }
    remote_only = {
        "--timeout": timeout,
        "--retries": retries,
        "--batch-size": batch_size,
        "--image-transport": image_transport,
    }
    if remote is not None and (given := _given(onnx_only)):
        fail(
            f"{given} describe{'s' if ',' not in given else ''} an ONNX model's input or "
            "outputs and do not apply to --remote (a remote model takes --task-type, "
            "--classes, --timeout, --retries, --batch-size, --image-transport)",
            as_json,
        )
    if onnx_file is not None and (given := _given(remote_only)):
        fail(
            f"{given} appl{'ies' if ',' not in given else 'y'} to remote models (--remote) "
            "only, not to --onnx",
            as_json,
        )
    flags = {
        "task_type": task_type,
        "class_names": _split(classes),
        "size": _size(size, as_json),
        "mean": _numbers(mean, "--mean", as_json),
        "std": _numbers(std, "--std", as_json),
        "channels": channels.upper() if channels else None,
        "layout": layout.upper() if layout else None,
        "resize": resize,
        "input_name": input_name,
        "outputs_probabilities": probabilities,
        "output_names": _pairs(outputs, as_json),
    }

    def action(c: AppContext):
        if remote is not None:
            given = {
                "timeout_s": timeout,
                "retries": retries,
                "batch_size": batch_size,
                "image_transport": image_transport,
            }
            settings = models.RemoteSettings(
                url=remote, **{k: v for k, v in given.items() if v is not None}
            )
            if not task_type:
                raise InvalidInput("--task-type is required with --remote")
            model = models.register_remote(c, name, settings, task_type, _split(classes))
        else:
            data = _contract_data(contract_file, flags)
            if "size" not in data:
                _check_default_size(onnx_file, data)
            model = models.register_onnx(c, name, onnx_file, _contract(data))
        return _view(model)

    run_action(action, as_json, lambda m: (out.print("registered"), _show_model(m)))


def _given(options: dict[str, Any]) -> str:
    return ", ".join(name for name, value in options.items() if value is not None)


def _contract_data(path: Path | None, flags: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"cannot read the contract {path}: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"the contract {path} is not a JSON object")
    data.update({k: v for k, v in flags.items() if v not in (None, [], {})})
    missing = [f for f in ("task_type", "class_names") if f not in data]
    if missing:
        raise InvalidInput(
            "an ONNX model needs its contract: --contract contract.json, or at least "
            "--task-type and --classes (then --size, --mean, --std, --channels, --layout, "
            "--resize, --input-name, --output, --probabilities/--logits as needed)"
        )
    return data


def _contract(data: dict[str, Any]):
    from labelloop.ml.runtime.contract import ContractError, ModelContract

    try:
        return ModelContract.from_dict(data)
    except ContractError as exc:
        raise InvalidInput(f"the contract is not valid: {exc}") from None


def _check_default_size(onnx_file: Path, data: dict[str, Any]) -> None:
    """With no size declared the contract says 224x224; a model whose image input has another
    fixed size is refused here with the --size that fits it."""
    from labelloop.ml.runtime.contract import ModelContract

    default = ModelContract.__dataclass_fields__["size"].default
    found = _input_size(onnx_file, data.get("input_name"), str(data.get("layout", "NCHW")))
    if found is not None and tuple(found) != tuple(default):
        width, height = found
        flag = f"--size {width}" if width == height else f"--size {width}x{height}"
        raise InvalidInput(
            f"{onnx_file.name} takes {width}x{height} images, but no input size was given and "
            f'it defaults to {default[0]}x{default[1]}: add {flag} (or "size": '
            f"[{width}, {height}] in the contract)"
        )


def _input_size(onnx_file: Path, input_name: str | None, layout: str) -> tuple[int, int] | None:
    """(width, height) of the model's image input when the graph fixes it, else None (also
    when the file cannot be read: registration then says what is wrong with it)."""
    try:
        import onnx

        graph = onnx.load(str(onnx_file), load_external_data=False).graph
    except Exception:
        return None
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    chosen = [i for i in inputs if i.name == input_name] if input_name else inputs
    if len(chosen) != 1:
        return None
    dims = chosen[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        return None
    height, width = (dims[2], dims[3]) if layout.upper() == "NCHW" else (dims[1], dims[2])
    if height.dim_value > 0 and width.dim_value > 0:
        return int(width.dim_value), int(height.dim_value)
    return None


@model_app.command("export")
def model_export(
    ref: Annotated[str, typer.Argument(help="NAME, NAME:VERSION or id")],
    out_dir: Path,
    force: Annotated[bool, typer.Option("--force", help="Replace files in OUT_DIR")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write a local model as OUT_DIR/model.onnx + OUT_DIR/contract.json."""
    from labelloop.services.model_export import export_model

    def show(result) -> None:
        out.print(f"exported {result.model}: {result.model_file}, {result.contract_file}")

    run_action(lambda c: export_model(c, ref, out_dir, overwrite=force), as_json, show)


@model_app.command("delete")
def model_delete(
    ref: Annotated[str, typer.Argument(help="NAME:VERSION or id (NAME alone: its latest)")],
    as_json: JsonFlag = False,
) -> None:
    """Delete a model version and its files (refused while a pre-label job uses it)."""
    models = _services()
    run_action(
        lambda c: _view(models.delete_model(c, ref)),
        as_json,
        lambda m: out.print(f"deleted model {m['ref']}"),
    )


# -- option parsing ------------------------------------------------------------------------


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _size(value: str | None, as_json: bool) -> list[int] | None:
    if not value:
        return None
    parts = value.lower().split("x")
    if not all(p.strip().isdigit() for p in parts) or len(parts) not in (1, 2):
        fail(f"--size {value!r} must be WxH or N", as_json)
    numbers = [int(p) for p in parts]
    return numbers * 2 if len(numbers) == 1 else numbers


def _numbers(value: str | None, option: str, as_json: bool) -> list[float] | None:
    if not value:
        return None
    try:
        numbers = [float(p) for p in value.split(",")]
    except ValueError:
        numbers = []
    if len(numbers) == 1:
        numbers *= 3
    if len(numbers) != 3:
        fail(f"{option} {value!r} must be one number or three, comma-separated", as_json)
    return numbers


def _pairs(values: list[str] | None, as_json: bool) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        role, sep, name = value.partition("=")
        if not sep or not role.strip() or not name.strip():
            fail(f"--output {value!r} is not role=graph_output", as_json)
        pairs[role.strip()] = name.strip()
    return pairs


def _short_list(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return f"{shown}, ... ({len(names)})" if len(names) > limit else shown

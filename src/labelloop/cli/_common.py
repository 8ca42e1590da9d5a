"""Shared pieces of the command line: the typer apps, running a use case, printing, errors."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from labelloop.domain import LabelloopError, PreconditionFailed
from labelloop.services.context import AppContext

app = typer.Typer(
    help="labelloop: label a few images, let the model label the rest, confirm the hard ones.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
dataset_app = typer.Typer(help="Create, list, show and delete datasets.", no_args_is_help=True)
label_app = typer.Typer(help="Manage a dataset's labels.", no_args_is_help=True)
job_app = typer.Typer(help="Follow and cancel smart-labeling jobs.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")
app.add_typer(label_app, name="label")
app.add_typer(job_app, name="job")

# Markup off: label, file and dataset names may hold "[...]", which Rich would read as styles
# (and crash on "[/]"). Styled lines opt in with markup=True and escape() what users typed.
out = Console(markup=False)
err = Console(stderr=True, markup=False)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _context() -> AppContext:
    return AppContext.from_env()


def run_action(
    action: Callable[[AppContext], Any], as_json: bool, show: Callable[[Any], None]
) -> Any:
    """Run a use case; map labelloop errors to a message and exit code 1."""
    ctx = None
    try:
        ctx = _context()
        result = action(ctx)
    except PreconditionFailed as exc:
        fail("smart labeling cannot start", as_json, reasons=exc.reasons)
    except LabelloopError as exc:
        fail(str(exc), as_json, kind=type(exc).__name__)
    finally:
        if ctx is not None:
            ctx.close()
    if as_json:
        typer.echo(json.dumps(_jsonable(result), indent=2, ensure_ascii=False, default=str))
    else:
        show(result)
    return result


def fail(message: str, as_json: bool, **extra: Any) -> None:
    if as_json:
        typer.echo(json.dumps({"error": message, **extra}, ensure_ascii=False), err=True)
    else:
        err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True)
        for reason in extra.get("reasons", []):
            err.print(f"  - {reason}", highlight=False)
    raise typer.Exit(1)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


class progress_bar:
    def __init__(self, what: str):
        self.progress = Progress(
            TextColumn(what),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )

    def __enter__(self):
        self.progress.start()
        return self.progress, self.progress.add_task("", total=None)

    def __exit__(self, *exc) -> None:
        self.progress.stop()

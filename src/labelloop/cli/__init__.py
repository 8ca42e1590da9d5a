"""The ``labelloop`` command line: parses arguments, calls services, prints (or --json).

One module per group of commands; each registers itself on the shared typer app on import.
"""

from __future__ import annotations

from . import datasets, demo, jobs, labeling, serve  # noqa: F401 - registers the commands
from . import models as _model_commands  # noqa: F401 - registers the model commands
from ._common import app
from .labeling import parse_box


def main() -> None:
    app()


__all__ = ["app", "main", "parse_box"]

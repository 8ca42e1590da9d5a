"""labelloop demo."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from labelloop.services import datasets, importing
from labelloop.services.context import AppContext

from ._common import (
    JsonFlag,
    app,
    out,
    run_action,
)

# ---------------------------------------------------------------- demo


@app.command("demo")
def demo_cmd(
    name: Annotated[str, typer.Option(help="Dataset name")] = "demo-shapes",
    as_json: JsonFlag = False,
) -> None:
    """Create a demo classification dataset from generated images and show its counts."""
    from labelloop.services.demo import write_demo_images

    def action(c: AppContext):
        if any(o.dataset.name == name for o in datasets.list_datasets(c)):
            datasets.delete_dataset(c, name)
        datasets.create_dataset(c, name, "classification")
        with tempfile.TemporaryDirectory(prefix="labelloop-demo-") as tmp:
            root = write_demo_images(Path(tmp) / name)
            report = importing.import_path(c, name, root, format_name="imagenet")
        return {"import": report.to_dict(), "dataset": datasets.dataset_overview(c, name).to_dict()}

    def show(r) -> None:
        rep, ds = r["import"], r["dataset"]
        out.print(
            f"demo dataset [bold]{escape(ds['name'])}[/]: imported {rep['imported']} images "
            f"({rep['labeled']} labeled, {rep['unlabeled']} unlabeled)",
            markup=True,
        )
        for label in ds["labels"]:
            out.print(f"  {label['name']}: {label['images']} labeled")
        out.print(f"next: labelloop dataset show {ds['name']}")

    run_action(action, as_json, show)

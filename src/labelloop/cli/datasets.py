"""labelloop dataset / label / import / export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from labelloop.formats import FORMAT_NAMES
from labelloop.services import datasets, exporting, importing
from labelloop.services.context import AppContext

from ._common import (
    JsonFlag,
    app,
    dataset_app,
    label_app,
    out,
    progress_bar,
    run_action,
)

# ---------------------------------------------------------------- datasets


@dataset_app.command("create")
def dataset_create(
    name: str,
    task_type: Annotated[str, typer.Option("--type", help="classification or detection")],
    labels: Annotated[
        list[str] | None, typer.Option("--label", help="A label (repeatable)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an empty dataset."""

    def show(ds) -> None:
        out.print(
            f"created {ds.task_type.value} dataset [bold]{escape(ds.name)}[/] (id {ds.id})",
            markup=True,
        )

    run_action(
        lambda c: datasets.dataset_overview(
            c, datasets.create_dataset(c, name, task_type, labels).name
        ),
        as_json,
        lambda o: show(o.dataset),
    )


@dataset_app.command("list")
def dataset_list(as_json: JsonFlag = False) -> None:
    """List datasets with their image counts."""

    def show(items) -> None:
        if not items:
            out.print("no datasets yet: labelloop dataset create NAME --type classification")
            return
        table = Table("id", "name", "type", "images", "unlabeled", "to confirm", "labeled")
        for o in items:
            c = o.counts
            table.add_row(
                str(o.dataset.id),
                o.dataset.name,
                o.dataset.task_type.value,
                str(c["total"]),
                str(c["unlabeled"]),
                str(c["to_confirm"]),
                str(c["labeled"]),
            )
        out.print(table)

    run_action(datasets.list_datasets, as_json, show)


@dataset_app.command("show")
def dataset_show(name: str, as_json: JsonFlag = False) -> None:
    """Counts by state and per label."""

    def show(o) -> None:
        c = o.counts
        out.print(
            f"[bold]{escape(o.dataset.name)}[/] ({o.dataset.task_type.value}), {c['total']} images",
            markup=True,
        )
        out.print(
            f"  unlabeled {c['unlabeled']}   to confirm {c['to_confirm']}   labeled {c['labeled']}"
        )
        table = Table("label", "labeled images", "boxes", "predicted (to confirm)")
        for label in o.dataset.labels:
            s = o.labels.get(label.name, {})
            table.add_row(
                Text.assemble(("■", label.color), " ", label.name),
                str(s.get("images", 0)),
                str(s.get("boxes", 0)),
                str(s.get("predicted", 0)),
            )
        out.print(table)

    run_action(lambda c: datasets.dataset_overview(c, name), as_json, show)


@dataset_app.command("delete")
def dataset_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a dataset with its images, labels and jobs."""
    if not yes:
        # Asked even when stdin is a pipe: a script that means it passes --yes, and an empty
        # or "n" answer aborts instead of deleting.
        typer.confirm(f"Delete dataset {name!r} and everything in it?", abort=True)
    run_action(
        lambda c: {"deleted": datasets.delete_dataset(c, name).name},
        as_json,
        lambda r: out.print(f"deleted dataset {r['deleted']}"),
    )


@label_app.command("add")
def label_add(
    name: str,
    labels: list[str],
    colors: Annotated[list[str] | None, typer.Option("--color", help="#RRGGBB per label")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Add labels to a dataset (existing ones are left as they are)."""
    run_action(
        lambda c: [
            {"name": lb.name, "color": lb.color}
            for lb in datasets.add_labels(c, name, labels, colors)
        ],
        as_json,
        lambda added: out.print(
            f"added {len(added)} label(s): {', '.join(a['name'] for a in added) or '-'}"
        ),
    )


# ---------------------------------------------------------------- import / export

FormatOption = Annotated[
    str, typer.Option("--format", "-f", help=f"auto or one of: {', '.join(FORMAT_NAMES)}")
]


@app.command("import")
def import_cmd(
    name: str,
    path: Path,
    format_name: FormatOption = "auto",
    as_json: JsonFlag = False,
) -> None:
    """Import a folder or a .zip archive of images (with annotations in any known format)."""

    def action(c: AppContext):
        if as_json or not sys.stderr.isatty():
            return importing.import_path(c, name, path, format_name=format_name)
        with progress_bar("importing") as (bar, task):
            return importing.import_path(
                c,
                name,
                path,
                format_name=format_name,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )

    def show(r: importing.ImportReport) -> None:
        out.print(
            f"format {r.format}: found {r.found}, imported [bold]{r.imported}[/] "
            f"({r.labeled} labeled, {r.unlabeled} unlabeled, {r.boxes} boxes), "
            + (
                f"labeled {r.annotated_existing} images already here, "
                if r.annotated_existing
                else ""
            )
            + f"duplicates {len(r.duplicates)}, skipped {len(r.skipped)}",
            markup=True,
        )
        if r.labels_added:
            out.print(f"labels added: {', '.join(r.labels_added)}")
        for file, reason in r.skipped:
            out.print(
                f"  [red]skipped[/] {escape(file)}: {escape(reason)}", highlight=False, markup=True
            )
        for file, problem in r.warnings[:50]:
            out.print(
                f"  [yellow]warning[/] {escape(file)}: {escape(problem)}",
                highlight=False,
                markup=True,
            )
        if len(r.warnings) > 50:
            out.print(f"  ... {len(r.warnings) - 50} more warnings (use --json for all)")

    run_action(action, as_json, show)


@app.command("export")
def export_cmd(
    name: str,
    out_dir: Path,
    format_name: Annotated[str, typer.Option("--format", "-f", help=", ".join(FORMAT_NAMES))],
    states: Annotated[
        list[str] | None,
        typer.Option("--state", help="unlabeled, to_confirm, labeled (repeatable; default all)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Export images, annotations and predictions."""
    run_action(
        lambda c: {
            "images": (
                rep := exporting.export_dataset(
                    c,
                    name,
                    out_dir,
                    format_name=format_name,
                    states=exporting.parse_states(states),
                )
            ).images,
            "files": rep.files,
            "out": str(out_dir),
            "missing": [{"file": f, "reason": why} for f, why in rep.missing],
        },
        as_json,
        _show_export,
    )


def _show_export(r: dict) -> None:
    out.print(f"exported {r['images']} images to {r['out']}")
    for m in r["missing"][:50]:
        out.print(
            f"  [red]left out[/] {escape(m['file'])}: {escape(m['reason'])}",
            highlight=False,
            markup=True,
        )
    if len(r["missing"]) > 50:
        out.print(f"  ... {len(r['missing']) - 50} more left out (use --json for all)")

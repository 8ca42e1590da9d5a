"""The ``labelloop`` command line: parses arguments, calls services, prints (or --json)."""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from labelloop.domain import Box, InvalidInput, LabelloopError, PreconditionFailed
from labelloop.formats import FORMAT_NAMES
from labelloop.services import annotating, browsing, datasets, exporting, importing
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

out = Console()
err = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _context() -> AppContext:
    return AppContext.from_env()


def _run(action: Callable[[AppContext], Any], as_json: bool, show: Callable[[Any], None]) -> Any:
    """Run a use case; map labelloop errors to a message and exit code 1."""
    ctx = None
    try:
        ctx = _context()
        result = action(ctx)
    except PreconditionFailed as exc:
        _fail("smart labeling cannot start", as_json, reasons=exc.reasons)
    except LabelloopError as exc:
        _fail(str(exc), as_json, kind=type(exc).__name__)
    finally:
        if ctx is not None:
            ctx.close()
    if as_json:
        typer.echo(json.dumps(_jsonable(result), indent=2, ensure_ascii=False, default=str))
    else:
        show(result)
    return result


def _fail(message: str, as_json: bool, **extra: Any) -> None:
    if as_json:
        typer.echo(json.dumps({"error": message, **extra}, ensure_ascii=False), err=True)
    else:
        err.print(f"[bold red]error:[/] {message}", highlight=False)
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
        out.print(f"created {ds.task_type.value} dataset [bold]{ds.name}[/] (id {ds.id})")

    _run(
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

    _run(datasets.list_datasets, as_json, show)


@dataset_app.command("show")
def dataset_show(name: str, as_json: JsonFlag = False) -> None:
    """Counts by state and per label."""

    def show(o) -> None:
        c = o.counts
        out.print(f"[bold]{o.dataset.name}[/] ({o.dataset.task_type.value}), {c['total']} images")
        out.print(
            f"  unlabeled {c['unlabeled']}   to confirm {c['to_confirm']}   labeled {c['labeled']}"
        )
        table = Table("label", "labeled images", "boxes", "predicted (to confirm)")
        for label in o.dataset.labels:
            s = o.labels.get(label.name, {})
            table.add_row(
                f"[{label.color}]■[/] {label.name}",
                str(s.get("images", 0)),
                str(s.get("boxes", 0)),
                str(s.get("predicted", 0)),
            )
        out.print(table)

    _run(lambda c: datasets.dataset_overview(c, name), as_json, show)


@dataset_app.command("delete")
def dataset_delete(
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete a dataset with its images, labels and jobs."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete dataset {name!r} and everything in it?", abort=True)
    _run(
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
    _run(
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
        with _progress_bar("importing") as (bar, task):
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
            f"duplicates {len(r.duplicates)}, skipped {len(r.skipped)}"
        )
        if r.labels_added:
            out.print(f"labels added: {', '.join(r.labels_added)}")
        for file, reason in r.skipped:
            out.print(f"  [red]skipped[/] {file}: {reason}", highlight=False)
        for file, problem in r.warnings[:50]:
            out.print(f"  [yellow]warning[/] {file}: {problem}", highlight=False)
        if len(r.warnings) > 50:
            out.print(f"  ... {len(r.warnings) - 50} more warnings (use --json for all)")

    _run(action, as_json, show)


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
    _run(
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
        },
        as_json,
        lambda r: out.print(f"exported {r['images']} images to {r['out']}"),
    )


# ---------------------------------------------------------------- labeling


def parse_box(text: str) -> Box:
    """LABEL,x,y,w,h — the label may itself hold commas, so split from the right."""
    parts = text.rsplit(",", 4)
    if len(parts) != 5:
        raise InvalidInput(f"box {text!r} is not LABEL,x,y,w,h")
    try:
        x, y, w, h = (float(p) for p in parts[1:])
    except ValueError:
        raise InvalidInput(f"box {text!r}: x, y, w, h must be numbers") from None
    return Box(parts[0].strip(), x, y, w, h)


@app.command("annotate")
def annotate_cmd(
    name: str,
    image: Annotated[str, typer.Argument(help="Image id, path, file name or sha256 prefix")],
    label: Annotated[str | None, typer.Option("--label", help="Classification label")] = None,
    boxes: Annotated[
        list[str] | None,
        typer.Option("--box", help="Detection box LABEL,x,y,w,h in pixels (repeatable)"),
    ] = None,
    no_objects: Annotated[
        bool, typer.Option("--no-objects", help="Detection: the image holds no objects")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Label one image by hand (replaces its annotation; the image becomes labeled)."""

    def action(c: AppContext):
        parsed = [parse_box(b) for b in boxes] if boxes else ([] if no_objects else None)
        annotation = annotating.annotate(c, name, image, label=label, boxes=parsed)
        return browsing.get_image(c, name, str(annotation.image_id))

    _run(action, as_json, lambda v: out.print(f"image {v.image.id} labeled"))


@app.command("confirm")
def confirm_cmd(
    name: str,
    images: Annotated[
        list[str] | None, typer.Option("--images", "--image", help="Image refs (repeatable)")
    ] = None,
    all_not_hard: Annotated[
        bool, typer.Option("--all-not-hard", help="Every prediction not flagged hard")
    ] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every prediction")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Accept predictions: to confirm -> labeled."""
    _run(
        lambda c: annotating.confirm(
            c, name, images=_split(images), all_not_hard=all_not_hard, everything=everything
        ),
        as_json,
        _show_batch("confirmed"),
    )


@app.command("reject")
def reject_cmd(
    name: str,
    images: Annotated[list[str], typer.Option("--images", "--image", help="Image refs")],
    as_json: JsonFlag = False,
) -> None:
    """Drop predictions: to confirm -> unlabeled."""
    _run(lambda c: annotating.reject(c, name, _split(images)), as_json, _show_batch("rejected"))


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _show_batch(verb: str) -> Callable[[annotating.BatchResult], None]:
    def show(r: annotating.BatchResult) -> None:
        out.print(f"{verb} {len(r.changed)} image(s)")
        for ref, why in r.skipped:
            out.print(f"  [yellow]skipped[/] {ref}: {why}", highlight=False)

    return show


@app.command("images")
def images_cmd(
    name: str,
    state: Annotated[str | None, typer.Option(help="unlabeled, to_confirm or labeled")] = None,
    label: Annotated[str | None, typer.Option(help="Annotated or predicted label")] = None,
    hard: Annotated[bool | None, typer.Option("--hard/--not-hard", help="Hard flag")] = None,
    hard_type: Annotated[str | None, typer.Option(help="none, false_detection, ...")] = None,
    after: Annotated[int, typer.Option(help="Continue after this image id")] = 0,
    limit: Annotated[int, typer.Option(help="Page size")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List images page by page, with annotations and predictions."""

    def show(page: browsing.ImagePage) -> None:
        table = Table("id", "file", "state", "label / boxes", "prediction", "hard")
        for v in page.items:
            a, p = v.annotation, v.prediction
            ann = (a.label or f"{len(a.boxes)} boxes") if a else ""
            pred = ""
            if p:
                pred = f"{p.label} {p.score:.2f}" if p.label else f"{len(p.boxes)} boxes"
            hard_text = ""
            if p:
                hard_text = p.hard_type.value if p.hard_type else ("hard" if p.hard else "")
            table.add_row(
                str(v.image.id), v.image.original_path, v.image.state.value, ann, pred, hard_text
            )
        out.print(table)
        more = f"; next page: --after {page.next_after}" if page.next_after else ""
        out.print(f"{len(page.items)} of {page.total}{more}")

    _run(
        lambda c: browsing.list_images(
            c,
            name,
            state=state,
            label=label,
            hard=hard,
            hard_type=hard_type,
            after=after,
            limit=limit,
        ),
        as_json,
        show,
    )


# ---------------------------------------------------------------- smart labeling

JOB_TYPES = {"active": "auto-label", "prelabel": "pre-label"}
POLL_SECONDS = 0.5


@app.command("smart-label")
def smart_label_cmd(
    name: str,
    job_type: Annotated[str, typer.Option("--type", help="active or prelabel")] = "active",
    algorithm: Annotated[
        str | None, typer.Option(help="Classification: fast or accurate (default fast)")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Pre-labeling: MODEL or MODEL:VERSION")] = None,
    mappings: Annotated[
        list[str] | None,
        typer.Option("--map", help="Pre-labeling: model_class=dataset_label (repeatable)"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait and show progress")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Start smart labeling in the background; --wait follows it to the end."""
    from labelloop.jobs.runner import spawn_worker
    from labelloop.services import jobs as job_service

    if job_type not in JOB_TYPES:
        _fail(f"--type must be one of: {', '.join(JOB_TYPES)}", as_json)
    params: dict[str, Any] = {}
    if algorithm is not None:
        params["algorithm"] = algorithm
    if model is not None:
        params["model"] = model
    if mappings:
        params["map"] = _parse_mappings(mappings, as_json)

    def action(c: AppContext):
        job = job_service.start_job(c, name, JOB_TYPES[job_type], params)
        spawn_worker(c, job.id)
        return _follow(c, job.id, as_json) if wait else job

    result = _run(action, as_json, _show_job)
    if wait and result.state.value != "succeeded":
        raise typer.Exit(1)


def _parse_mappings(values: list[str], as_json: bool) -> dict[str, str]:
    pairs = {}
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source.strip() or not target.strip():
            _fail(f"--map {value!r} is not model_class=dataset_label", as_json)
        pairs[source.strip()] = target.strip()
    return pairs


def _follow(c: AppContext, job_id: int, quiet: bool):
    """Poll the job until it ends, drawing a progress bar on a terminal."""
    import time

    from labelloop.services import jobs as job_service

    show_bar = not quiet and err.is_terminal
    with _progress_bar("") if show_bar else _NoBar() as (bar, task):
        while True:
            job = job_service.get_job(c, job_id)
            if bar is not None:
                bar.update(
                    task,
                    description=f"job {job.id}: {job.stage:<22}",
                    completed=job.done,
                    total=job.total or None,
                )
            elif not quiet:
                err.print(f"job {job.id}: {job.stage} {job.done}/{job.total}", highlight=False)
            if not job.state.active:
                return job
            time.sleep(POLL_SECONDS if bar is not None else 2.0)


class _NoBar:
    def __enter__(self):
        return None, None

    def __exit__(self, *exc) -> None:
        return None


def _show_job(job) -> None:
    eta = f", about {job.eta_seconds:.0f} s left" if job.eta_seconds else ""
    out.print(
        f"job {job.id} ({job.kind.value}) [bold]{job.state.value}[/]: {job.stage} "
        f"{job.done}/{job.total}{eta}",
        highlight=False,
    )
    if job.error:
        out.print(f"  error: {job.error}", highlight=False)
    for key, value in (job.result or {}).items():
        out.print(f"  {key}: {value}", highlight=False)
    for key, value in (job.metrics or {}).items():
        out.print(f"  {key}: {value}", highlight=False)


@job_app.command("show")
def job_show(job_id: int, as_json: JsonFlag = False) -> None:
    """A job's state, stage, progress, ETA, metrics and error."""
    from labelloop.services import jobs as job_service

    _run(lambda c: job_service.get_job(c, job_id), as_json, _show_job)


@job_app.command("list")
def job_list(
    name: Annotated[str | None, typer.Argument(help="Only this dataset's jobs")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Recent jobs, newest first."""
    from labelloop.services import jobs as job_service

    def show(jobs) -> None:
        table = Table("id", "dataset", "type", "state", "stage", "progress", "created")
        for j in jobs:
            table.add_row(
                str(j.id),
                str(j.dataset_id),
                j.kind.value,
                j.state.value,
                j.stage,
                f"{j.done}/{j.total}",
                j.created_at.strftime("%Y-%m-%d %H:%M") if j.created_at else "",
            )
        out.print(table)

    _run(lambda c: job_service.list_jobs(c, name), as_json, show)


@job_app.command("cancel")
def job_cancel(job_id: int, as_json: JsonFlag = False) -> None:
    """Ask a job to stop; nothing it computed is published."""
    from labelloop.services import jobs as job_service

    _run(lambda c: job_service.cancel_job(c, job_id), as_json, _show_job)


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
            f"demo dataset [bold]{ds['name']}[/]: imported {rep['imported']} images "
            f"({rep['labeled']} labeled, {rep['unlabeled']} unlabeled)"
        )
        for label in ds["labels"]:
            out.print(f"  {label['name']}: {label['images']} labeled")
        out.print(f"next: labelloop dataset show {ds['name']}")

    _run(action, as_json, show)


class _progress_bar:
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()

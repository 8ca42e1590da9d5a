"""labelloop smart-label / job."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from labelloop.services.context import AppContext

from ._common import (
    JsonFlag,
    app,
    err,
    fail,
    job_app,
    out,
    progress_bar,
    run_action,
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
        fail(f"--type must be one of: {', '.join(JOB_TYPES)}", as_json)
    if job_type == "prelabel" and algorithm is not None:
        fail(
            "--algorithm chooses how active learning trains (--type active); pre-labeling "
            "runs the registered model given by --model: leave --algorithm out",
            as_json,
        )
    if job_type == "active" and (model is not None or mappings):
        given = ", ".join(f for f, v in (("--model", model), ("--map", mappings)) if v)
        verb = "apply" if "," in given else "applies"
        fail(
            f"{given} {verb} to pre-labeling (--type prelabel); active learning trains its own "
            "model on the dataset's labels",
            as_json,
        )
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

    result = run_action(action, as_json, _show_job)
    if wait and result.state.value != "succeeded":
        raise typer.Exit(1)


def _parse_mappings(values: list[str], as_json: bool) -> dict[str, str]:
    pairs = {}
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source.strip() or not target.strip():
            fail(f"--map {value!r} is not model_class=dataset_label", as_json)
        pairs[source.strip()] = target.strip()
    return pairs


def _follow(c: AppContext, job_id: int, quiet: bool):
    """Poll the job until it ends, drawing a progress bar on a terminal."""
    import time

    from labelloop.services import jobs as job_service

    show_bar = not quiet and err.is_terminal
    with progress_bar("") if show_bar else _NoBar() as (bar, task):
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
        f"job {job.id} ({job.kind.value}) [bold]{job.state.value}[/]: {escape(job.stage)} "
        f"{job.done}/{job.total}{eta}",
        highlight=False,
        markup=True,
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

    run_action(lambda c: job_service.get_job(c, job_id), as_json, _show_job)


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

    run_action(lambda c: job_service.list_jobs(c, name), as_json, show)


@job_app.command("cancel")
def job_cancel(job_id: int, as_json: JsonFlag = False) -> None:
    """Ask a job to stop; nothing it computed is published."""
    from labelloop.services import jobs as job_service

    run_action(lambda c: job_service.cancel_job(c, job_id), as_json, _show_job)

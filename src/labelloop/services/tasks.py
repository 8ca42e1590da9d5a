"""Smart-labeling tasks in the shape of the ModelArts v2 task API, on top of ``services.jobs``.

ModelArts users know ``{"task_type": "auto-label" | "pre-label", "model_id": ...,
"config": {"algorithm_type": "fast" | "accurate"}}``; labelloop's jobs take a ``kind`` and
``params`` ({"algorithm": ..., "model": ..., "map": ...}). This module translates one into the
other; ``start_job`` checks the rest (preconditions, the model and its task type).
"""

from __future__ import annotations

from collections.abc import Mapping

from labelloop.domain import InvalidInput, Job, JobKind

from . import jobs as job_service
from .context import AppContext


def start_task(
    app: AppContext,
    dataset_name: str,
    task_type: str,
    *,
    model_id: int | str | None = None,
    algorithm_type: str | None = None,
    label_map: Mapping[str, str] | None = None,
) -> Job:
    """Queue a smart-labeling job; the caller starts its worker (jobs.runner.spawn_worker)."""
    try:
        kind = JobKind(task_type)
    except ValueError:
        raise InvalidInput(
            f"task_type {task_type!r} is not one of: {', '.join(k.value for k in JobKind)}"
        ) from None
    params: dict = {}
    if kind is JobKind.AUTO_LABEL:
        if model_id is not None:
            raise InvalidInput("active learning trains its own model; leave model_id out")
        if algorithm_type:
            params["algorithm"] = algorithm_type
    else:
        if algorithm_type:
            raise InvalidInput("pre-labeling uses the chosen model as it is; leave algorithm out")
        if model_id is None or not str(model_id).strip():
            raise InvalidInput("pre-labeling needs a model: give model_id")
        # The registry takes NAME, NAME:VERSION or its numeric id (what the UI sends).
        params["model"] = str(model_id).strip()
        if label_map:
            params["map"] = dict(label_map)
    return job_service.start_job(app, dataset_name, kind.value, params)

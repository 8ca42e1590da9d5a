"""Smart-labeling tasks in the shape of the ModelArts v2 task API, on top of ``services.jobs``.

ModelArts users know ``{"task_type": "auto-label" | "pre-label", "model_id": ...,
"config": {"algorithm_type": "fast" | "accurate"}}``; labelloop's jobs take ``kind`` and
``params`` ({"algorithm": ..., "model": ..., "map": ...}). This module translates one into the
other and checks what ``start_job`` leaves to the caller: that a pre-labeling model exists and
is of the dataset's task type.
"""

from __future__ import annotations

from collections.abc import Mapping

from labelloop.domain import InvalidInput, Job, JobKind, WrongTaskType
from labelloop.storage import datasets_repo, models_repo

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
        params["model"] = _model_ref(app, dataset_name, model_id)
        if label_map:
            params["map"] = dict(label_map)
    return job_service.start_job(app, dataset_name, kind.value, params)


def _model_ref(app: AppContext, dataset_name: str, model_id: int | str | None) -> str:
    """The registry reference of the pre-labeling model, checked against the dataset."""
    if model_id is None or str(model_id).strip() == "":
        raise InvalidInput("pre-labeling needs a model: give model_id")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        # A number is tried as a name first, then as the registry id (what the UI sends).
        model = models_repo.get_model(session, str(model_id).strip())
    if model.task_type is not dataset.task_type:
        raise WrongTaskType(
            f"model {model.ref} is a {model.task_type.value} model; dataset {dataset.name!r} "
            f"needs a {dataset.task_type.value} model"
        )
    return model.ref

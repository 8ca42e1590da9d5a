"""Smart-labeling tasks, shaped after the ModelArts v2 task API."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, status

from labelloop.domain import JobState, NotFound
from labelloop.services import jobs as job_service
from labelloop.services import tasks as task_service

from ..deps import Context, DatasetInPath, StartWorker
from ..schemas import TaskCreate, TaskOut

log = logging.getLogger(__name__)
router = APIRouter(tags=["tasks"])


@router.post(
    "/datasets/{dataset_id}/tasks", response_model=TaskOut, status_code=status.HTTP_201_CREATED
)
def start_task(
    dataset: DatasetInPath, ctx: Context, body: TaskCreate, start_worker: StartWorker
) -> TaskOut:
    """Start smart labeling: ``auto-label`` (active learning; classification takes
    ``config.algorithm_type`` fast or accurate) or ``pre-label`` with a registry ``model_id``.

    Failed preconditions answer 409 with every reason in ``reasons``.
    """
    job = task_service.start_task(
        ctx,
        dataset.name,
        body.task_type,
        model_id=body.model_id,
        algorithm_type=body.config.algorithm_type,
        label_map=body.label_map,
    )
    try:
        start_worker(ctx, job.id)
    except OSError as exc:
        # A queued job without a worker would block the dataset until recovery notices.
        log.error("could not start the worker of job %s: %s", job.id, exc)
        job_service.fail(ctx, job.id, JobState.FAILED, f"could not start its worker: {exc}")
    return TaskOut.from_job(job_service.get_job(ctx, job.id))


@router.get("/datasets/{dataset_id}/tasks", response_model=list[TaskOut])
def list_dataset_tasks(
    dataset: DatasetInPath, ctx: Context, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[TaskOut]:
    """The dataset's tasks, newest first, with their metrics."""
    return [TaskOut.from_job(j) for j in job_service.list_jobs(ctx, dataset.name, limit)]


@router.get("/datasets/{dataset_id}/tasks/{task_id}", response_model=TaskOut)
def show_task(dataset: DatasetInPath, ctx: Context, task_id: int) -> TaskOut:
    """State, stage, done/total, progress and ETA: poll it while the task runs."""
    return TaskOut.from_job(_task_of(ctx, dataset.id, task_id))


@router.post("/datasets/{dataset_id}/tasks/{task_id}/cancel", response_model=TaskOut)
def cancel_task(dataset: DatasetInPath, ctx: Context, task_id: int) -> TaskOut:
    """Ask the task to stop; it publishes nothing."""
    _task_of(ctx, dataset.id, task_id)
    return TaskOut.from_job(job_service.cancel_job(ctx, task_id))


@router.get("/tasks", response_model=list[TaskOut])
def list_all_tasks(ctx: Context, limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[TaskOut]:
    """Tasks of every dataset, newest first."""
    return [TaskOut.from_job(j) for j in job_service.list_jobs(ctx, None, limit)]


def _task_of(ctx, dataset_id: int, task_id: int):
    job = job_service.get_job(ctx, task_id)
    if job.dataset_id != dataset_id:
        raise NotFound(f"task {task_id} is not a task of this dataset")
    return job

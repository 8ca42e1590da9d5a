"""Use cases of smart-labeling jobs: start (with preconditions), show, cancel, publish, recover.

A job's work happens in a worker process (``labelloop.jobs``); this module owns the rules and
the database side: the one-active-job rule, the atomic publish, crash recovery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from labelloop.domain import (
    Dataset,
    HardReason,
    HardType,
    ImageState,
    InvalidInput,
    Job,
    JobKind,
    JobState,
    TaskType,
)
from labelloop.domain.preconditions import require_smart_labeling
from labelloop.storage import datasets_repo, images_repo, jobs_repo, models_repo

from .context import AppContext
from .prelabel_checks import check_prelabel_start

# A worker writes a heartbeat every few seconds; one silent this long is dead.
HEARTBEAT_TIMEOUT = timedelta(seconds=90)
ALGORITHMS = ("fast", "accurate")


@dataclass(frozen=True)
class PredictedBox:
    label: str
    x: float
    y: float
    w: float
    h: float
    score: float


@dataclass(frozen=True)
class ImagePrediction:
    image_id: int
    label: str | None = None
    score: float | None = None
    boxes: tuple[PredictedBox, ...] = ()
    hard: bool = False
    hard_type: HardType | None = None
    hard_coefficient: float = 0.0
    hard_reasons: tuple[HardReason, ...] = ()
    hints: tuple[PredictedBox, ...] = ()


@dataclass
class ModelToSave:
    name: str
    task_type: TaskType
    class_names: list[str]
    metrics: dict
    config: dict  # backbone id, preprocessing, head kind ...
    path: str | None  # folder under the model directory holding the weights


@dataclass
class JobOutcome:
    predictions: list[ImagePrediction]
    metrics: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    model: ModelToSave | None = None
    model_version: str | None = None  # the registered model that made the predictions


def start_job(app: AppContext, dataset_name: str, kind: str, params: dict | None = None) -> Job:
    """Check the preconditions and queue a job; the caller starts a worker for it."""
    params = dict(params or {})
    try:
        job_kind = JobKind(kind)
    except ValueError:
        raise InvalidInput(
            f"job type {kind!r} is not one of: {', '.join(k.value for k in JobKind)}"
        ) from None
    recover_interrupted(app)
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        _check_params(dataset, job_kind, params)
        if job_kind is JobKind.PRE_LABEL:
            params = check_prelabel_start(session, dataset, params)
        if job_kind is JobKind.AUTO_LABEL:
            stats = images_repo.label_statistics(session, dataset.id)
            counts = images_repo.count_by_state(session, dataset.id)
            require_smart_labeling(
                labeled_per_label={name: s["images"] for name, s in stats.items()},
                unlabeled_count=counts[ImageState.UNLABELED] + counts[ImageState.TO_CONFIRM],
                running_job=jobs_repo.active_job(session, dataset.id),
            )
        return jobs_repo.create_job(session, dataset.id, job_kind, params)


def _check_params(dataset: Dataset, kind: JobKind, params: dict) -> None:
    if kind is JobKind.AUTO_LABEL and dataset.task_type is TaskType.CLASSIFICATION:
        algorithm = params.setdefault("algorithm", "fast")
        if algorithm not in ALGORITHMS:
            raise InvalidInput(f"algorithm {algorithm!r} is not one of: {', '.join(ALGORITHMS)}")
    elif kind is JobKind.AUTO_LABEL and params.get("algorithm") not in (None, ""):
        raise InvalidInput(
            "active learning on a detection dataset has no algorithm choice; leave it out"
        )


def get_job(app: AppContext, job_id: int) -> Job:
    recover_interrupted(app)
    with app.db.session() as session:
        return jobs_repo.get_job(session, job_id)


def list_jobs(app: AppContext, dataset_name: str | None = None, limit: int = 50) -> list[Job]:
    recover_interrupted(app)
    with app.db.session() as session:
        dataset_id = None
        if dataset_name is not None:
            dataset_id = datasets_repo.get_dataset_by_name(session, dataset_name).id
        return jobs_repo.list_jobs(session, dataset_id, limit)


def cancel_job(app: AppContext, job_id: int) -> Job:
    """Ask a job to stop; its worker stops at the next progress report and publishes nothing."""
    with app.db.session() as session:
        return jobs_repo.request_cancel(session, job_id)


def publish(app: AppContext, job_id: int, outcome: JobOutcome) -> bool:
    """Store the predictions, the model version and the job's success in ONE transaction.

    Until this commits no image changes state; if the job was cancelled meanwhile nothing is
    published. Returns False when the job was no longer running.
    """
    with app.db.session() as session:
        job = jobs_repo.get_job(session, job_id)
        if job.state is not JobState.RUNNING or jobs_repo.cancel_requested(session, job_id):
            return False
        label_ids = datasets_repo.label_ids(session, job.dataset_id)
        model_version = outcome.model_version
        result = dict(outcome.result)
        if outcome.model is not None:
            model = models_repo.add_model(
                session,
                name=outcome.model.name,
                task_type=outcome.model.task_type,
                source="trained",
                class_names=outcome.model.class_names,
                metrics=outcome.model.metrics,
                config=outcome.model.config,
                path=outcome.model.path,
                dataset_id=job.dataset_id,
                job_id=job.id,
            )
            model_version = f"{model.name}:{model.version}"
            result["model"] = {"id": model.id, "name": model.name, "version": model.version}
        rows = [prediction_row(p, label_ids) for p in outcome.predictions]
        published = images_repo.publish_predictions(
            session, job.dataset_id, job.id, model_version, rows
        )
        result["published"] = published
        result["skipped_labeled_meanwhile"] = len(rows) - published
        jobs_repo.finish(
            session,
            job_id,
            JobState.SUCCEEDED,
            metrics=outcome.metrics,
            result=result,
            stage="done",
        )
    return True


def prediction_row(p: ImagePrediction, label_ids: dict[str, int]) -> images_repo.NewPrediction:
    """The stored row of a proposal (a job's, or one handed back to undo a confirm or reject),
    its label names already checked against ``label_ids``."""
    return images_repo.NewPrediction(
        image_id=p.image_id,
        label_id=label_ids[p.label] if p.label is not None else None,
        score=p.score,
        boxes=[(label_ids[b.label], b.x, b.y, b.w, b.h, b.score) for b in p.boxes],
        hard=p.hard,
        hard_type=p.hard_type.value if p.hard_type else None,
        hard_coefficient=float(p.hard_coefficient),
        hard_reasons=[{"code": r.code, "text": r.text} for r in p.hard_reasons],
        hints=[
            {"label": b.label, "x": b.x, "y": b.y, "w": b.w, "h": b.h, "score": b.score}
            for b in p.hints
        ],
    )


def fail(app: AppContext, job_id: int, state: JobState, error: str | None) -> None:
    with app.db.session() as session:
        jobs_repo.finish(session, job_id, state, error=error)


def recover_interrupted(app: AppContext) -> list[Job]:
    """Mark jobs whose worker died (SIGKILL, crash, reboot) as interrupted.

    Nothing else needs undoing: a job changes the dataset only in its final transaction.
    """
    recovered = []
    with app.db.session() as session:
        candidates = {j.id: j for j in jobs_repo.active_jobs(session)}
        stale = {
            j.id for j in jobs_repo.stale_jobs(session, heartbeat_older_than=HEARTBEAT_TIMEOUT)
        }
        for job in candidates.values():
            dead = job.pid is not None and not process_alive(job.pid)
            if dead or job.id in stale:
                why = "its worker process is gone" if dead else "its worker stopped reporting"
                if jobs_repo.finish(
                    session,
                    job.id,
                    JobState.INTERRUPTED,
                    error=f"interrupted: {why}",
                    stage="interrupted",
                ):
                    recovered.append(job)
    return recovered


def process_alive(pid: int) -> bool:
    """Is ``pid`` a live process on this machine (a zombie counts as dead)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True

"""Run a job: in this process (tests, --foreground) or in a detached worker process.

The worker marks the job running, runs the pipeline of its kind, and publishes the outcome
atomically (services.jobs.publish). A worker killed with SIGKILL leaves the job "running" with
a dead pid and a stale heartbeat; services.jobs.recover_interrupted marks it interrupted at the
next start, and nothing of it was published.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from labelloop.domain import Job, JobKind, JobState, LabelloopError, TaskType
from labelloop.ml.features import Cancelled
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext
from labelloop.storage import datasets_repo, jobs_repo

from .progress import JobCancelled, JobReporter

log = logging.getLogger(__name__)

Pipeline = Callable[[AppContext, Job, JobReporter], job_service.JobOutcome]


def pipeline_for(app: AppContext, job: Job) -> Pipeline:
    """The work of a job, by its kind and its dataset's task type (imported when needed)."""
    with app.db.session() as session:
        task_type = datasets_repo.get_dataset(session, job.dataset_id).task_type
    if job.kind is JobKind.AUTO_LABEL and task_type is TaskType.CLASSIFICATION:
        from labelloop.services.auto_label_classification import run_auto_label

        return run_auto_label
    if job.kind is JobKind.AUTO_LABEL and task_type is TaskType.DETECTION:
        from labelloop.services.auto_label_detection import run_auto_label

        return run_auto_label
    if job.kind is JobKind.PRE_LABEL:
        from labelloop.services.prelabel import run_prelabel

        return run_prelabel
    raise LabelloopError(f"no pipeline for {job.kind.value} on {task_type.value} datasets")


def run_job(app: AppContext, job_id: int, pipeline: Pipeline | None = None) -> Job:
    """Run a queued job to its end in this process; returns the final job."""
    with app.db.session() as session:
        if not jobs_repo.mark_running(session, job_id, os.getpid()):
            return jobs_repo.get_job(session, job_id)
        job = jobs_repo.get_job(session, job_id)
    try:
        with JobReporter(app, job_id) as reporter:
            work = pipeline or pipeline_for(app, job)
            outcome = work(app, job, reporter)
            # Counted in images, so a finished job reads "publishing n/n", not "0/0".
            reporter.stage("publishing", len(outcome.predictions))
            if not job_service.publish(app, job_id, outcome):
                job_service.fail(app, job_id, JobState.CANCELLED, None)
    except (JobCancelled, Cancelled):
        job_service.fail(app, job_id, JobState.CANCELLED, None)
    except LabelloopError as exc:
        job_service.fail(app, job_id, JobState.FAILED, str(exc))
    except Exception as exc:
        log.error("job %s crashed:\n%s", job_id, traceback.format_exc())
        job_service.fail(app, job_id, JobState.FAILED, f"{type(exc).__name__}: {exc}")
    with app.db.session() as session:
        return jobs_repo.get_job(session, job_id)


def spawn_worker(app: AppContext, job_id: int) -> subprocess.Popen:
    """Start a detached worker process for a queued job; its output goes to a log file."""
    log_dir = app.settings.home / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["LABELLOOP_HOME"] = str(app.settings.home)
    env["LABELLOOP_DATABASE_URL"] = app.settings.database_url
    env["LABELLOOP_CACHE_DIR"] = str(app.settings.cache_dir)
    with open(log_dir / f"job-{job_id}.log", "ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "labelloop.jobs.worker", str(job_id)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # survives the CLI that started it, and its Ctrl-C
            cwd=str(Path.cwd()),
        )

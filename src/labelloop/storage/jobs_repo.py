"""Smart-labeling jobs: rows <-> Job entities, state changes guarded by the current state."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelloop.domain import ACTIVE_JOB_STATES, Job, JobConflict, JobKind, JobState, NotFound

from .tables import JobRow, utcnow


def to_job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        dataset_id=row.dataset_id,
        kind=JobKind(row.kind),
        state=JobState(row.state),
        params=dict(row.params or {}),
        stage=row.stage,
        done=row.done,
        total=row.total,
        eta_seconds=row.eta_seconds,
        metrics=dict(row.metrics or {}),
        result=dict(row.result or {}),
        error=row.error,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        pid=row.pid,
    )


def active_job(session: Session, dataset_id: int) -> Job | None:
    row = session.scalar(
        select(JobRow).where(
            JobRow.dataset_id == dataset_id,
            JobRow.state.in_([s.value for s in ACTIVE_JOB_STATES]),
        )
    )
    return to_job(row) if row else None


def create_job(session: Session, dataset_id: int, kind: JobKind, params: dict) -> Job:
    """Insert a queued job. The partial unique index refuses a second active job per dataset,
    whatever process or server tries: the loser gets JobConflict naming the winner."""
    row = JobRow(
        dataset_id=dataset_id,
        kind=kind.value,
        params=params,
        state=JobState.QUEUED.value,
        stage="queued",
        done=0,
        total=0,
        metrics={},
        result={},
        cancel_requested=False,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        running = active_job(session, dataset_id)
        which = f"job {running.id} is {running.state.value}" if running else "another job started"
        raise JobConflict(
            f"a smart-labeling job of this dataset is already running ({which})",
            job_id=running.id if running else None,
        ) from None
    return to_job(row)


def get_job(session: Session, job_id: int) -> Job:
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"job {job_id} does not exist")
    return to_job(row)


def list_jobs(session: Session, dataset_id: int | None = None, limit: int = 50) -> list[Job]:
    query = select(JobRow).order_by(JobRow.id.desc()).limit(limit)
    if dataset_id is not None:
        query = query.where(JobRow.dataset_id == dataset_id)
    return [to_job(row) for row in session.scalars(query)]


def mark_running(session: Session, job_id: int, pid: int) -> bool:
    now = utcnow()
    result = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
        .values(
            state=JobState.RUNNING.value,
            pid=pid,
            started_at=now,
            heartbeat_at=now,
            stage="starting",
        )
    )
    return result.rowcount == 1


def report_progress(
    session: Session,
    job_id: int,
    *,
    stage: str,
    done: int,
    total: int,
    eta_seconds: float | None,
) -> bool:
    """Write progress and heartbeat; returns whether a cancel was requested."""
    session.execute(
        update(JobRow)
        .where(JobRow.id == job_id)
        .values(stage=stage, done=done, total=total, eta_seconds=eta_seconds, heartbeat_at=utcnow())
    )
    return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(JobRow.cancel_requested).where(JobRow.id == job_id)))


def request_cancel(session: Session, job_id: int) -> Job:
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"job {job_id} does not exist")
    if JobState(row.state).active:
        row.cancel_requested = True
        if row.state == JobState.QUEUED.value and row.pid is None:
            _finish(row, JobState.CANCELLED, stage="cancelled before it started")
        session.flush()
    return to_job(row)


def finish(
    session: Session,
    job_id: int,
    state: JobState,
    *,
    error: str | None = None,
    metrics: dict | None = None,
    result: dict | None = None,
    stage: str | None = None,
) -> bool:
    """Move an active job to a final state; False when it had already ended."""
    row = session.get(JobRow, job_id, with_for_update=True)
    if row is None or not JobState(row.state).active:
        return False
    _finish(row, state, stage=stage or state.value, error=error)
    if state is JobState.SUCCEEDED:
        row.done = row.total  # the last stage is complete, whatever its last report said
    if metrics is not None:
        row.metrics = metrics
    if result is not None:
        row.result = result
    session.flush()
    return True


def _finish(row: JobRow, state: JobState, *, stage: str, error: str | None = None) -> None:
    row.state = state.value
    row.stage = stage
    row.error = error
    row.eta_seconds = None
    row.finished_at = utcnow()


def stale_jobs(session: Session, *, heartbeat_older_than: timedelta) -> list[Job]:
    """Active jobs whose worker stopped reporting (killed, crashed, machine restarted)."""
    limit: datetime = utcnow() - heartbeat_older_than
    rows = session.scalars(
        select(JobRow).where(JobRow.state.in_([s.value for s in ACTIVE_JOB_STATES]))
    ).all()
    stale = []
    for row in rows:
        last = row.heartbeat_at or row.created_at
        if last.tzinfo is None:  # SQLite hands back naive datetimes
            last = last.replace(tzinfo=limit.tzinfo)
        if last < limit:
            stale.append(to_job(row))
    return stale


def active_jobs(session: Session) -> list[Job]:
    rows = session.scalars(
        select(JobRow).where(JobRow.state.in_([s.value for s in ACTIVE_JOB_STATES]))
    )
    return [to_job(row) for row in rows]

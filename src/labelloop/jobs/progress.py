"""Progress reporting from a worker to the jobs table: stage, done/total, ETA, heartbeat, cancel.

Writes are throttled (a report costs one small UPDATE) and a heartbeat thread keeps the job
visibly alive through long steps that report nothing, such as training a head.
"""

from __future__ import annotations

import threading
import time

from labelloop.services.context import AppContext
from labelloop.storage import jobs_repo

REPORT_EVERY_SECONDS = 0.5
HEARTBEAT_SECONDS = 5.0


class JobCancelled(Exception):
    """Raised inside the worker when the job was asked to stop."""


class JobReporter:
    def __init__(self, app: AppContext, job_id: int):
        self._app = app
        self.job_id = job_id
        self._stage = "starting"
        self._done = 0
        self._total = 0
        self._stage_started = time.monotonic()
        self._last_write = 0.0
        self._cancelled = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._beat, name=f"job-{job_id}-heartbeat", daemon=True
        )

    def __enter__(self) -> JobReporter:
        self._heartbeat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._heartbeat.join(timeout=HEARTBEAT_SECONDS)

    def stage(self, name: str, total: int = 0) -> None:
        with self._lock:
            self._stage, self._done, self._total = name, 0, total
            self._stage_started = time.monotonic()
        self._write(force=True)

    def update(self, done: int, total: int | None = None) -> None:
        """Report progress within the stage; raises JobCancelled when a cancel was asked."""
        with self._lock:
            self._done = done
            if total is not None:
                self._total = total
        self._write(force=False)

    def check_cancel(self) -> None:
        self._write(force=True)

    def should_cancel(self) -> bool:
        """For ml code that takes a ``should_cancel`` callable."""
        try:
            self._write(force=False)
        except JobCancelled:
            return True
        return self._cancelled

    def _eta(self) -> float | None:
        if self._done <= 0 or self._total <= 0 or self._done >= self._total:
            return None
        elapsed = time.monotonic() - self._stage_started
        return elapsed / self._done * (self._total - self._done)

    def _write(self, *, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < REPORT_EVERY_SECONDS:
            if self._cancelled:
                raise JobCancelled()
            return
        with self._lock:
            stage, done, total, eta = self._stage, self._done, self._total, self._eta()
        with self._app.db.session() as session:
            self._cancelled = jobs_repo.report_progress(
                session, self.job_id, stage=stage, done=done, total=total, eta_seconds=eta
            )
        self._last_write = now
        if self._cancelled:
            raise JobCancelled()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._write(force=True)
            except JobCancelled:
                pass  # the work loop notices at its next report
            except Exception:
                continue

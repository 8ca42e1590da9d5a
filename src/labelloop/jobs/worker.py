"""Entry point of a worker process: ``python -m labelloop.jobs.worker JOB_ID``."""

from __future__ import annotations

import logging
import sys

from labelloop.services.context import AppContext

from .runner import run_job


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m labelloop.jobs.worker JOB_ID", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    app = AppContext.from_env()
    try:
        job = run_job(app, int(args[0]))
    finally:
        app.close()
    logging.info("job %s ended %s %s", job.id, job.state.value, job.error or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())

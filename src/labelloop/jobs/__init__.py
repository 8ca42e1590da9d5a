"""Background jobs: runner, worker process, progress reporting, cancellation."""

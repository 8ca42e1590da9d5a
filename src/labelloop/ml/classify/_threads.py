"""BLAS thread limit around the heads' numerical work.

Measured on the shared 2-core machine (load 5-10): one fit + 5-fold cross-validation + scoring
of a 2,062-image job took 13.6 s (fast) / 28.5 s (accurate) with OpenBLAS' default threads and
0.5 s / 1.6 s with one thread: the head's matrices (a few thousand rows, <= 1280 columns) are
too small to gain from threads, and busy-waiting BLAS threads on busy cores lose 20x.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

from threadpoolctl import threadpool_limits


def limit_blas_threads(limit: int | None) -> AbstractContextManager:
    """A context capping BLAS threads at ``limit`` (``None``: leave the library's default)."""
    if limit is None:
        return nullcontext()
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"blas_threads must be a positive integer or None, got {limit!r}")
    return threadpool_limits(limits=limit, user_api="blas")

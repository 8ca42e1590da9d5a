"""A tiny cache of the label-free, transductive part of the accurate head.

The normalisation statistics and the kNN graph depend on the job's embeddings only, not on the
labels, so the head's fit and the five cross-validation fits of one job (and the rounds of a
confirm-and-fix loop over the same images) would compute them again and again; on 2 cores the
eigen-decomposition alone takes a second or more. Entries are keyed by a digest of the array's
bytes plus the parameters, so a different array can never get a stale entry.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

#: Entries kept (one job's embeddings, plus one for a job running beside it).
_MAX_ENTRIES = 2

_Value = TypeVar("_Value")
_entries: OrderedDict[tuple, object] = OrderedDict()
_lock = threading.Lock()


def digest(X: np.ndarray) -> str:
    """Content digest of an array (shape, dtype and bytes)."""
    contiguous = np.ascontiguousarray(X)
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr((contiguous.shape, contiguous.dtype.str)).encode())
    hasher.update(contiguous.data)
    return hasher.hexdigest()


def cached(key: tuple, compute: Callable[[], _Value]) -> _Value:
    """``compute()``, or the value stored under ``key`` by an earlier call."""
    with _lock:
        if key in _entries:
            _entries.move_to_end(key)
            return _entries[key]  # type: ignore[return-value]
    value = compute()
    with _lock:
        _entries[key] = value
        while len(_entries) > _MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every entry (tests, or to free memory after a job)."""
    with _lock:
        _entries.clear()

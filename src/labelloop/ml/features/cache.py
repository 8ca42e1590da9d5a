"""Embedding cache: a second job on the same images neither decodes nor embeds them again.

An embedding is identified by what determines it: the image bytes (sha256), the backbone
(``backbone_id``, which names the weights), the preprocessing (``PREPROCESS_VERSION``) and the
view (the image as is, or flipped). ``embedding_key`` turns these into one string key.

Storage implements ``EmbeddingCache`` (two methods, see its docstring); ``InMemoryEmbeddingCache``
is the reference implementation, for tests and one-off scripts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from labelloop.ml.features.extractor import (
    EMBEDDING_DIM,
    BatchCallback,
    CancelCheck,
    EmbedResult,
    ProgressCallback,
)

VIEW_ORIGINAL = "orig"
VIEW_FLIPPED = "flip"  # horizontally flipped image
VIEWS = (VIEW_ORIGINAL, VIEW_FLIPPED)
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KEY_SEPARATOR = "|"


def embedding_key(
    sha256: str, backbone_id: str, preprocess_version: str, view: str = VIEW_ORIGINAL
) -> str:
    """One embedding's cache key: ``<backbone_id>|<preprocess_version>|<view>|<sha256>``.

    The parts are ordered from coarse to fine so that keys of one backbone and preprocessing
    share a prefix (handy for range deletes when a backbone is dropped).
    """
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"sha256 must be 64 lowercase hex digits, got {sha256!r}")
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, got {view!r}")
    for name, part in (("backbone_id", backbone_id), ("preprocess_version", preprocess_version)):
        if not part or _KEY_SEPARATOR in part:
            raise ValueError(f"{name} must be non-empty and free of {_KEY_SEPARATOR!r}: {part!r}")
    return _KEY_SEPARATOR.join((backbone_id, preprocess_version, view, sha256))


@runtime_checkable
class EmbeddingCache(Protocol):
    """Key -> embedding store. Keys come from ``embedding_key`` (ASCII, under 200 characters).

    Values are 1-D float32 arrays of length 1280. Implementations need not be thread-safe;
    ``embed_with_cache`` calls them from one thread.
    """

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        """The embeddings of the keys that are present; absent keys are simply left out."""
        ...

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store (or overwrite) the given embeddings; must be durable once it returns."""
        ...


class InMemoryEmbeddingCache:
    """A dict-backed EmbeddingCache. Stores read-only float32 copies."""

    def __init__(self) -> None:
        self._store: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, key: object) -> bool:
        return key in self._store

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        return {key: self._store[key] for key in keys if key in self._store}

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        for key, vector in items.items():
            stored = np.array(vector, dtype=np.float32, copy=True)
            stored.flags.writeable = False
            self._store[key] = stored


class Embedder(Protocol):
    """What ``embed_with_cache`` needs of an extractor (``FeatureExtractor`` provides it)."""

    @property
    def backbone_id(self) -> str: ...

    @property
    def preprocess_version(self) -> str: ...

    def embed(
        self,
        paths: Sequence[str | Path],
        *,
        batch_size: int = ...,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        flip: bool = False,
        on_batch: BatchCallback | None = None,
    ) -> EmbedResult: ...


@dataclass
class CachedEmbedResult(EmbedResult):
    """EmbedResult of ``embed_with_cache``, with how much came from the cache."""

    cache_hits: int = 0  # items served entirely from the cache
    computed: int = 0  # distinct images decoded and embedded in this call


def embed_with_cache(
    extractor: Embedder,
    items: Sequence[tuple[str, str | Path]],
    cache: EmbeddingCache,
    *,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    flip: bool = False,
) -> CachedEmbedResult:
    """Embeddings of ``items`` = [(sha256, path), ...], computing only what the cache lacks.

    New embeddings are written to the cache after every batch, so a cancelled or crashed job
    keeps what it finished. Images with the same sha256 are embedded once. Failed images are
    not cached (the file may be fixed) and are reported in ``failed`` by item index.
    ``progress(done, total)`` counts items, cache hits included.
    """
    views = VIEWS if flip else (VIEW_ORIGINAL,)
    backbone, version = extractor.backbone_id, extractor.preprocess_version
    keys = {
        (sha, view): embedding_key(sha, backbone, version, view)
        for sha in {sha for sha, _ in items}
        for view in views
    }
    found = dict(_checked(cache.get_many(list(keys.values()))))

    missing_paths: dict[str, str | Path] = {}  # sha -> first path, in item order
    for sha, path in items:
        if sha not in missing_paths and any(keys[sha, v] not in found for v in views):
            missing_paths[sha] = path
    missing_shas = list(missing_paths)
    total = len(items)
    hits = sum(1 for sha, _ in items if sha not in missing_paths)

    def store_batch(start: int, stop: int, rows: np.ndarray, flip_rows: np.ndarray | None) -> None:
        new: dict[str, np.ndarray] = {}
        for offset, sha in enumerate(missing_shas[start:stop]):
            if np.isnan(rows[offset]).any():
                continue  # failed to decode
            new[keys[sha, VIEW_ORIGINAL]] = rows[offset]
            if flip_rows is not None:
                new[keys[sha, VIEW_FLIPPED]] = flip_rows[offset]
        if new:
            cache.put_many(new)
            found.update(new)

    last_reported = -1

    def report(done: int, _total: int) -> None:
        # Duplicates of a missing image finish with it, so count items, not distinct images.
        nonlocal last_reported
        last_reported = total if done == len(missing_shas) else min(total, hits + done)
        if progress is not None:
            progress(last_reported, total)

    computed = extractor.embed(
        [missing_paths[sha] for sha in missing_shas],
        batch_size=batch_size,
        progress=report,
        should_cancel=should_cancel,
        flip=flip,
        on_batch=store_batch,
    )
    if progress is not None and last_reported != total:
        progress(total, total)  # everything came from the cache
    failed_by_sha = {missing_shas[i]: message for i, message in computed.failed.items()}
    return _assemble(items, keys, found, failed_by_sha, flip, hits, len(missing_shas))


def _checked(found: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    for key, vector in found.items():
        if np.shape(vector) != (EMBEDDING_DIM,):
            raise ValueError(
                f"embedding cache returned shape {np.shape(vector)} for {key!r}, "
                f"expected ({EMBEDDING_DIM},)"
            )
    return found


def _assemble(
    items: Sequence[tuple[str, str | Path]],
    keys: dict[tuple[str, str], str],
    found: dict[str, np.ndarray],
    failed_by_sha: dict[str, str],
    flip: bool,
    hits: int,
    computed: int,
) -> CachedEmbedResult:
    n = len(items)
    embeddings = np.full((n, EMBEDDING_DIM), np.nan, dtype=np.float32)
    flipped = np.full((n, EMBEDDING_DIM), np.nan, dtype=np.float32) if flip else None
    failed: dict[int, str] = {}
    for index, (sha, _path) in enumerate(items):
        if sha in failed_by_sha:
            failed[index] = failed_by_sha[sha]
            continue
        embeddings[index] = found[keys[sha, VIEW_ORIGINAL]]
        if flipped is not None:
            flipped[index] = found[keys[sha, VIEW_FLIPPED]]
    return CachedEmbedResult(
        embeddings=embeddings, flipped=flipped, failed=failed, cache_hits=hits, computed=computed
    )

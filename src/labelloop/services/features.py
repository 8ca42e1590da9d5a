"""Embeddings of a dataset's images for jobs: the backbone in ONNX Runtime, cached in the DB."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from labelloop.domain import Image
from labelloop.ml.features import (
    Cancelled,
    FeatureExtractor,
    embed_with_cache,
)
from labelloop.ml.features.cache import VIEWS, embedding_key
from labelloop.storage.embeddings_repo import DatabaseEmbeddingCache

from .context import AppContext


@dataclass
class Embedded:
    embeddings: np.ndarray  # (n, 1280) rows of the images that could be embedded
    flipped: np.ndarray  # (n, 1280) the same images flipped horizontally
    images: list[Image]  # the images of those rows, in order
    failed: list[tuple[Image, str]]  # images that could not be decoded, with the reason
    cache_hits: int
    computed: int


def extractor_for(app: AppContext) -> FeatureExtractor:
    return FeatureExtractor(app.settings.cache_dir / "backbone")


def embed_images(
    app: AppContext,
    images: Sequence[Image],
    *,
    progress: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    extractor: FeatureExtractor | None = None,
) -> Embedded:
    """Embeddings (and flipped-view embeddings) of ``images``; cached ones are not recomputed.

    Raises ml.features.Cancelled when ``should_cancel`` says so between two batches.
    """
    extractor = extractor or extractor_for(app)
    items = [(img.sha256, app.blobs.path_for(img.sha256)) for img in images]
    result = embed_with_cache(
        extractor,
        items,
        DatabaseEmbeddingCache(app.db),
        progress=progress,
        should_cancel=should_cancel,
        flip=True,
    )
    ok = result.ok
    failed = [(images[i], reason) for i, reason in sorted(result.failed.items())]
    return Embedded(
        embeddings=result.embeddings[ok],
        flipped=result.flipped[ok],
        images=[img for img, keep in zip(images, ok, strict=True) if keep],
        failed=failed,
        cache_hits=result.cache_hits,
        computed=result.computed,
    )


def embedded_already(
    app: AppContext, images: Sequence[Image], extractor: FeatureExtractor | None = None
) -> set[int]:
    """Ids of the ``images`` whose embeddings (both views) are cached: free to use now."""
    extractor = extractor or extractor_for(app)
    backbone, version = extractor.backbone_id, extractor.preprocess_version
    keys = {
        img.id: [embedding_key(img.sha256, backbone, version, view) for view in VIEWS]
        for img in images
    }
    present = DatabaseEmbeddingCache(app.db).present([k for pair in keys.values() for k in pair])
    return {image_id for image_id, pair in keys.items() if all(k in present for k in pair)}


__all__ = ["Cancelled", "Embedded", "embed_images", "embedded_already", "extractor_for"]

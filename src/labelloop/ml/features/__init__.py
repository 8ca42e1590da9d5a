"""Image features for smart labeling: backbone, preprocessing, batched extraction, cache.

Arrays in, arrays out: file paths go in, float32 embeddings come out.

- ``FeatureExtractor(model_cache_dir).embed(paths) -> EmbedResult`` runs EfficientNet-Lite0
  in ONNX Runtime, decoding the next batches while the current one is embedded.
- ``embed_with_cache(extractor, [(sha256, path)], cache)`` embeds only what ``cache`` (any
  ``EmbeddingCache``) lacks; keys come from ``embedding_key``.
- ``preprocess``: decoding and resizing rules, ``PREPROCESS_VERSION``.
- ``efficientnet_lite``: the torch model (embedding and stride 8/16/32 pyramid), imported on
  its own because it needs torch; ``ensure_onnx`` exports it once per weights file.

Exceptions: ``ImageDecodeError`` (one file could not be decoded; the extractor reports it in
``EmbedResult.failed`` instead of raising), ``Cancelled`` (``should_cancel()`` said so),
``WeightsNotFound`` (the backbone weights file is missing).

Importing this package loads neither torch nor a model.
"""

from labelloop.ml.features.cache import (
    VIEW_FLIPPED,
    VIEW_ORIGINAL,
    CachedEmbedResult,
    EmbeddingCache,
    InMemoryEmbeddingCache,
    embed_with_cache,
    embedding_key,
)
from labelloop.ml.features.extractor import (
    EMBEDDING_DIM,
    Cancelled,
    EmbedResult,
    FeatureExtractor,
)
from labelloop.ml.features.onnx_export import GRAPH_VERSION, GraphKind, ensure_onnx
from labelloop.ml.features.preprocess import (
    INPUT_SIZE,
    PREPROCESS_VERSION,
    ImageDecodeError,
    ResizeMode,
    load_for_backbone,
)
from labelloop.ml.features.weights import WeightsNotFound, backbone_id, default_weights_path

__all__ = [
    "EMBEDDING_DIM",
    "GRAPH_VERSION",
    "INPUT_SIZE",
    "PREPROCESS_VERSION",
    "VIEW_FLIPPED",
    "VIEW_ORIGINAL",
    "CachedEmbedResult",
    "Cancelled",
    "EmbedResult",
    "EmbeddingCache",
    "FeatureExtractor",
    "GraphKind",
    "ImageDecodeError",
    "InMemoryEmbeddingCache",
    "ResizeMode",
    "WeightsNotFound",
    "backbone_id",
    "default_weights_path",
    "embed_with_cache",
    "embedding_key",
    "ensure_onnx",
    "load_for_backbone",
]

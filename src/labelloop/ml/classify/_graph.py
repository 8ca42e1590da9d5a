"""kNN graph over unit-norm embeddings and label propagation on it (Zhou et al. 2004)."""

from __future__ import annotations

import numpy as np
from scipy import sparse

#: Degrees are floored at this value so isolated nodes do not divide by zero.
_DEGREE_FLOOR = 1e-12
#: Fixed-point iterations of propagation; alpha**30 is negligible for the alphas we use.
_PROPAGATION_STEPS = 30
#: Query rows per block when searching neighbours, so memory stays O(block * n), not O(n^2).
_BLOCK_ROWS = 1024


def nearest_neighbours(
    queries: np.ndarray, points: np.ndarray, *, k: int, exclude_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and cosine similarities ``(m, k)`` of each query's ``k`` most similar points.

    Rows are unit vectors. With ``exclude_self`` the queries are the points themselves and a
    point is not its own neighbour.
    """
    k = min(k, points.shape[0] - (1 if exclude_self else 0))
    indices = np.empty((queries.shape[0], k), dtype=np.int64)
    similarities = np.empty((queries.shape[0], k))
    for start in range(0, queries.shape[0], _BLOCK_ROWS):
        stop = min(start + _BLOCK_ROWS, queries.shape[0])
        block = queries[start:stop] @ points.T
        if exclude_self:
            block[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-block, k - 1, axis=1)[:, :k]
        indices[start:stop] = top
        similarities[start:stop] = np.take_along_axis(block, top, axis=1)
    return indices, similarities


def edge_weights(similarities: np.ndarray, sharpness: float) -> np.ndarray:
    """``max(cos, 0) ** sharpness``: a high power keeps the strongest links and mutes the weak
    cross-class ones that made naive label spreading worse than the plain head."""
    return np.maximum(similarities, 0.0) ** sharpness


def knn_affinity(Z: np.ndarray, *, n_neighbors: int, sharpness: float) -> sparse.csr_matrix:
    """Symmetric, degree-normalised affinity ``D^-1/2 W D^-1/2`` of a cosine kNN graph."""
    n = Z.shape[0]
    neighbours, similarities = nearest_neighbours(Z, Z, k=n_neighbors, exclude_self=True)
    rows = np.repeat(np.arange(n), neighbours.shape[1])
    W = sparse.csr_matrix(
        (edge_weights(similarities, sharpness).ravel(), (rows, neighbours.ravel())), shape=(n, n)
    )
    W = W.maximum(W.T)
    degree = np.asarray(W.sum(axis=1)).ravel()
    scale = sparse.diags(1.0 / np.sqrt(np.maximum(degree, _DEGREE_FLOOR)))
    return (scale @ W @ scale).tocsr()


def propagate(affinity: sparse.csr_matrix, prior: np.ndarray, *, alpha: float) -> np.ndarray:
    """Row-normalised fixed point of ``F = alpha * S F + (1 - alpha) * prior``."""
    F = prior.copy()
    for _ in range(_PROPAGATION_STEPS):
        F = alpha * (affinity @ F) + (1.0 - alpha) * prior
    return normalize_rows(F)


def normalize_rows(F: np.ndarray) -> np.ndarray:
    """Non-negative rows scaled to sum to 1 (a zero row becomes uniform)."""
    F = np.maximum(F, 0.0)
    totals = F.sum(axis=1, keepdims=True)
    uniform = np.full_like(F, 1.0 / F.shape[1])
    return np.where(totals > 0, F / np.maximum(totals, _DEGREE_FLOOR), uniform)

"""Selectors: turn per-image utilities into a batch of images to ask about.

``select_diverse`` is ranked batch-mode sampling (Cardoso et al. 2017, modAL's
``uncertainty_batch_sampling``): images are picked one at a time by

    score = alpha * distance_to_nearest(labeled + already picked) + (1 - alpha) * utility

so a batch does not spend a person's time on ten near-duplicates of the same confusing image.
``alpha`` defaults to |unlabeled| / (|unlabeled| + |labeled|): while few images are labeled,
covering the embedding space matters most; later, uncertainty takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labelloop.ml.query._utility import UTILITIES
from labelloop.ml.query._validation import check_matrix, check_proba, check_vector

#: Rows are divided by norms no smaller than this.
_NORM_FLOOR = 1e-12


@dataclass(frozen=True)
class QueryResult:
    """Images to show a person next, best first.

    Attributes
    ----------
    indices:
        ``(m,)`` row indices into the arrays given to the selector, in the order picked.
    scores:
        ``(m,)`` the selector's score of each pick at the moment it was picked.
    utility:
        ``(n,)`` the utility of every candidate image (for display or logging).
    """

    indices: np.ndarray
    scores: np.ndarray
    utility: np.ndarray


def _check_count(n: object, n_available: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(min(n, n_available))


def select_top(utility: np.ndarray, *, n: int) -> QueryResult:
    """The ``n`` images of highest utility (ties broken by index)."""
    utility = np.asarray(utility, dtype=np.float64)
    if utility.ndim != 1:
        raise ValueError(f"utility must be a 1-D array, got shape {utility.shape}")
    utility = check_vector(utility, utility.shape[0], name="utility")
    count = _check_count(n, utility.shape[0])
    order = np.argsort(-utility, kind="stable")[:count]
    return QueryResult(indices=order, scores=utility[order], utility=utility)


def _unit_rows(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    centred = X - mean
    return centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), _NORM_FLOOR)


def select_diverse(
    utility: np.ndarray,
    embeddings: np.ndarray,
    *,
    n: int,
    labeled_embeddings: np.ndarray | None = None,
    diversity_weight: float | None = None,
) -> QueryResult:
    """Ranked batch-mode selection mixing utility with distance to what is already known.

    Parameters
    ----------
    utility:
        ``(n_candidates,)`` value of asking about each candidate, in [0, 1].
    embeddings:
        ``(n_candidates, d)`` embeddings of the candidates.
    n:
        How many to pick.
    labeled_embeddings:
        ``(n_labeled, d)`` embeddings of images a person already labeled (may be omitted).
    diversity_weight:
        ``alpha`` in [0, 1]; ``None`` picks |candidates| / (|candidates| + |labeled|).
    """
    utility = np.asarray(utility, dtype=np.float64)
    if utility.ndim != 1:
        raise ValueError(f"utility must be a 1-D array, got shape {utility.shape}")
    utility = check_vector(utility, utility.shape[0], name="utility")
    X = check_matrix(embeddings, name="embeddings", n_rows=utility.shape[0])
    L = (
        np.empty((0, X.shape[1]))
        if labeled_embeddings is None
        else check_matrix(labeled_embeddings, name="labeled_embeddings", n_cols=X.shape[1])
    )
    if diversity_weight is None:
        diversity_weight = X.shape[0] / (X.shape[0] + L.shape[0])
    if not 0.0 <= diversity_weight <= 1.0:
        raise ValueError(f"diversity_weight must lie in [0, 1], got {diversity_weight}")
    count = _check_count(n, X.shape[0])

    # Cosine geometry around the common mean: raw CNN embeddings are all in one orthant,
    # where every cosine is close to 1 and distances say little.
    mean = np.concatenate([X, L]).mean(axis=0)
    candidates = _unit_rows(X, mean)
    # Cosine distance / 2 lies in [0, 1]; with nothing known yet every image is "far".
    nearest = np.ones(X.shape[0])
    if L.shape[0]:
        similarity = (candidates @ _unit_rows(L, mean).T).max(axis=1)
        nearest = np.clip((1.0 - similarity) / 2.0, 0.0, 1.0)

    picked = np.zeros(X.shape[0], dtype=bool)
    indices = np.empty(count, dtype=np.int64)
    scores = np.empty(count)
    for slot in range(count):
        spread = nearest.max() if nearest.max() > 0 else 1.0
        score = diversity_weight * nearest / spread + (1.0 - diversity_weight) * utility
        score[picked] = -np.inf
        best = int(np.argmax(score))
        indices[slot], scores[slot] = best, score[best]
        picked[best] = True
        nearest = np.minimum(nearest, (1.0 - candidates @ candidates[best]) / 2.0)
    return QueryResult(indices=indices, scores=scores, utility=utility)


def select_next(
    proba: np.ndarray,
    embeddings: np.ndarray,
    *,
    n: int,
    utility: str = "margin",
    labeled_embeddings: np.ndarray | None = None,
    diversity_weight: float | None = None,
) -> QueryResult:
    """Which of the candidate images a person should label next: uncertain and diverse.

    ``proba`` ``(n_candidates, k)`` are the model's probabilities for the candidates,
    ``utility`` names the uncertainty measure (``"margin"``, ``"least_confidence"``,
    ``"entropy"``); the rest is passed to :func:`select_diverse`.
    """
    if utility not in UTILITIES:
        raise ValueError(f"utility must be one of {sorted(UTILITIES)}, got {utility!r}")
    values = UTILITIES[utility](check_proba(proba))
    return select_diverse(
        values,
        embeddings,
        n=n,
        labeled_embeddings=labeled_embeddings,
        diversity_weight=diversity_weight,
    )

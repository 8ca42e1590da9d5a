"""Which images a person should label next (modAL style: a utility measure + a selector).

Public API::

    select_next(proba, embeddings, *, n, utility="margin", labeled_embeddings=None,
                diversity_weight=None) -> QueryResult
        uncertain *and* diverse picks among the candidates (ranked batch-mode sampling).
    select_diverse(utility, embeddings, *, n, labeled_embeddings=None,
                   diversity_weight=None) -> QueryResult   # any utility, e.g. hardness
    select_top(utility, *, n) -> QueryResult
    margin_uncertainty(proba), least_confidence(proba), entropy_uncertainty(proba)
        -> (n,) utilities in [0, 1]
    QueryResult(indices, scores, utility)   # indices in pick order; utility of every candidate

Bad input (wrong shapes, NaN, probabilities that do not sum to 1) raises ValueError.
"""

from labelloop.ml.query._select import QueryResult, select_diverse, select_next, select_top
from labelloop.ml.query._utility import (
    UTILITIES,
    entropy_uncertainty,
    least_confidence,
    margin_uncertainty,
)

__all__ = [
    "UTILITIES",
    "QueryResult",
    "entropy_uncertainty",
    "least_confidence",
    "margin_uncertainty",
    "select_diverse",
    "select_next",
    "select_top",
]

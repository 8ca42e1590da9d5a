"""Embedding-space evidence about a prediction: labeled neighbours and class distances."""

from __future__ import annotations

import numpy as np

#: Rows are divided by norms no smaller than this.
_NORM_FLOOR = 1e-12


def cosine_space(scored: np.ndarray, labeled: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets mapped to unit vectors around their common mean (signed square root first).

    Raw CNN embeddings are non-negative, so raw cosines are all close to 1; the square root
    tames a few dominant channels and centring spreads the directions out.
    """

    def root(X: np.ndarray) -> np.ndarray:
        return np.sign(X) * np.sqrt(np.abs(X))

    def unit(X: np.ndarray) -> np.ndarray:
        return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), _NORM_FLOOR)

    scored, labeled = unit(root(scored)), unit(root(labeled))
    mean = np.concatenate([scored, labeled]).mean(axis=0)
    return unit(scored - mean), unit(labeled - mean)


def neighbour_vote(
    similarity: np.ndarray, labeled_targets: np.ndarray, n_classes: int, n_neighbours: int
) -> np.ndarray:
    """``(n, k)`` similarity-weighted vote shares of each image's nearest labeled images."""
    count = min(n_neighbours, similarity.shape[1])
    nearest = np.argpartition(-similarity, count - 1, axis=1)[:, :count]
    weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0) + _NORM_FLOOR
    votes = np.zeros((similarity.shape[0], n_classes))
    np.add.at(
        votes,
        (np.repeat(np.arange(similarity.shape[0]), count), labeled_targets[nearest].ravel()),
        weights.ravel(),
    )
    return votes / votes.sum(axis=1, keepdims=True)


def distance_to_class(
    similarity: np.ndarray, labeled_targets: np.ndarray, classes: np.ndarray
) -> np.ndarray:
    """Cosine distance from each image to the nearest labeled image of ``classes[i]``."""
    distance = np.full(similarity.shape[0], np.inf)
    for label in np.unique(classes):
        rows = np.flatnonzero(classes == label)
        columns = np.flatnonzero(labeled_targets == label)
        if columns.size:
            distance[rows] = 1.0 - similarity[np.ix_(rows, columns)].max(axis=1)
    return distance


def within_class_distances(labeled: np.ndarray, labeled_targets: np.ndarray) -> np.ndarray:
    """Leave-one-out distance of each labeled image to the nearest other one of its class."""
    similarity = labeled @ labeled.T
    np.fill_diagonal(similarity, -np.inf)
    distance = distance_to_class(similarity, labeled_targets, labeled_targets)
    return distance[np.isfinite(distance)]

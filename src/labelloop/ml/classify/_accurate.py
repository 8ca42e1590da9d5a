"""The ``accurate`` head: learns from the unlabeled images of the job too (transductive)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelloop.ml.classify._base import EmbeddingHead
from labelloop.ml.classify._graph import (
    edge_weights,
    knn_affinity,
    nearest_neighbours,
    normalize_rows,
    propagate,
)
from labelloop.ml.classify._memo import cached, digest
from labelloop.ml.classify._normalize import EmbeddingNormalizer
from labelloop.ml.classify._validation import UNLABELED

#: Iteration cap of the L-BFGS solver.
_MAX_ITER = 2000


class AccurateHead(EmbeddingHead):
    """Transductive normalisation + logistic head + kNN label propagation + self-training.

    ``fit(X, y)`` takes every image of the job; ``y`` is -1 for the unlabeled ones.

    1. Embeddings are power-transformed, centred on the mean of *all* images and L2-normalised
       (transductive normalisation: the query set's own statistics).
    2. A logistic head is trained on the labeled images; its probabilities on every image are
       smoothed over a kNN graph (label propagation with the head's output as prior, labeled
       images clamped to their label).
    3. Self-training: for ``self_training_rounds`` rounds, the most confident images of each
       class (same count per class, growing to ``pseudo_label_share`` of the unlabeled ones)
       become pseudo-labeled training images of the next head. Per-class quotas keep a
       dominant class from swallowing its neighbours.

    ``predict_proba`` of any image mixes the final head with the graph: the smoothed
    distributions of the image's nearest training images, weighted by ``graph_weight`` (as
    sklearn's ``LabelSpreading`` extends its transduction to new points).

    Defaults were chosen on clothing_small and sign_digits (BENCHMARKS.md). ``blas_threads``
    caps BLAS threads during fit/predict (``None``: the library's default); see ``_threads``.
    """

    def __init__(
        self,
        *,
        C: float = 30.0,
        power: float | None = 0.5,
        n_components: int | None = 128,
        whiten: bool = False,
        n_neighbors: int = 10,
        sharpness: float = 3.0,
        propagation_alpha: float = 0.5,
        self_training_rounds: int = 2,
        pseudo_label_share: float = 0.8,
        pseudo_label_weight: float = 1.0,
        graph_weight: float = 0.5,
        blas_threads: int | None = 1,
    ) -> None:
        self.C = C
        self.blas_threads = blas_threads
        self.power = power
        self.n_components = n_components
        self.whiten = whiten
        self.n_neighbors = n_neighbors
        self.sharpness = sharpness
        self.propagation_alpha = propagation_alpha
        self.self_training_rounds = self_training_rounds
        self.pseudo_label_share = pseudo_label_share
        self.pseudo_label_weight = pseudo_label_weight
        self.graph_weight = graph_weight

    def _fit(self, X: np.ndarray, y: np.ndarray) -> AccurateHead:
        labeled = y != UNLABELED
        self.classes_ = np.unique(y[labeled])
        self.n_features_in_ = X.shape[1]
        use_graph = self.propagation_alpha > 0 and X.shape[0] > 2
        self.normalizer_, Z, affinity = cached(
            (
                digest(X),
                self.power,
                self.n_components,
                self.whiten,
                use_graph,
                self.n_neighbors,
                self.sharpness,
            ),
            lambda: self._label_free_part(X, use_graph),
        )
        clamp = (y[labeled][:, None] == self.classes_[None, :]).astype(np.float64)

        def smooth(proba: np.ndarray) -> np.ndarray:
            if affinity is None:
                return proba
            prior = proba.copy()
            prior[labeled] = clamp
            return propagate(affinity, prior, alpha=self.propagation_alpha)

        targets = y
        # One model refitted every round: warm-started from the previous round's weights.
        model = LogisticRegression(
            C=self.C, class_weight="balanced", max_iter=_MAX_ITER, warm_start=True
        )
        for round_index in range(self.self_training_rounds + 1):
            train = targets != UNLABELED
            weight = np.where(labeled[train], 1.0, self.pseudo_label_weight)
            model.fit(Z[train], targets[train], sample_weight=weight)
            proba = smooth(model.predict_proba(Z))
            if round_index == self.self_training_rounds:
                break
            share = self.pseudo_label_share * (round_index + 1) / self.self_training_rounds
            targets = self._with_pseudo_labels(proba, share, y)

        self.model_ = model
        self.label_distributions_ = proba
        self.transduction_ = self.classes_[proba.argmax(axis=1)]
        self.train_embeddings_ = Z
        return self

    def _label_free_part(self, X: np.ndarray, use_graph: bool):
        """Normaliser fitted on every image, the normalised images and their kNN graph."""
        normalizer = EmbeddingNormalizer(
            power=self.power, center=True, n_components=self.n_components, whiten=self.whiten
        ).fit(X)
        Z = normalizer.transform(X)
        affinity = (
            knn_affinity(Z, n_neighbors=self.n_neighbors, sharpness=self.sharpness)
            if use_graph
            else None
        )
        return normalizer, Z, affinity

    def _with_pseudo_labels(self, proba: np.ndarray, share: float, y: np.ndarray) -> np.ndarray:
        """``y`` with the most confident unlabeled images of every class filled in."""
        unlabeled = np.flatnonzero(y == UNLABELED)
        predicted, confidence = proba[unlabeled].argmax(axis=1), proba[unlabeled].max(axis=1)
        quota = int(share * unlabeled.size / proba.shape[1])
        filled = y.copy()
        for column in range(proba.shape[1]):
            candidates = np.flatnonzero(predicted == column)
            chosen = candidates[np.argsort(-confidence[candidates], kind="stable")[:quota]]
            filled[unlabeled[chosen]] = self.classes_[column]
        return filled

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        Z = self.normalizer_.transform(X)
        head = self.model_.predict_proba(Z)
        if self.graph_weight <= 0:
            return head
        neighbours, similarities = nearest_neighbours(Z, self.train_embeddings_, k=self.n_neighbors)
        weights = edge_weights(similarities, self.sharpness)[:, :, None]
        graph = normalize_rows((weights * self.label_distributions_[neighbours]).sum(axis=1))
        return (1.0 - self.graph_weight) * head + self.graph_weight * graph

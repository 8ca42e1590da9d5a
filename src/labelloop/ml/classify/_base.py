"""What the two heads share: the BLAS thread cap, the input checks, ``predict`` from
``predict_proba``. A head implements ``_fit`` and ``_predict_proba`` on checked arrays."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from labelloop.ml.classify._threads import limit_blas_threads
from labelloop.ml.classify._validation import check_embeddings, check_targets


class EmbeddingHead(ClassifierMixin, BaseEstimator):
    """Base of the heads (scikit-learn contract); subclasses define ``blas_threads``."""

    blas_threads: int | None

    def fit(self, X: np.ndarray, y: np.ndarray) -> EmbeddingHead:
        with limit_blas_threads(self.blas_threads):
            X = check_embeddings(X)
            return self._fit(X, check_targets(y, X.shape[0]))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "model_")
        with limit_blas_threads(self.blas_threads):
            X = check_embeddings(X)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, the head was fitted on {self.n_features_in_}"
                )
            return self._predict_proba(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _fit(self, X: np.ndarray, y: np.ndarray) -> EmbeddingHead:
        raise NotImplementedError

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

"""The ``fast`` head: a regularised logistic regression on the labeled embeddings only."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from labelloop.ml.classify._base import EmbeddingHead
from labelloop.ml.classify._normalize import EmbeddingNormalizer
from labelloop.ml.classify._validation import UNLABELED

#: Iteration cap of the L-BFGS solver; the problems are small and converge well below it.
_MAX_ITER = 2000


class FastHead(EmbeddingHead):
    """Logistic regression on power-transformed, centred, L2-normalised embeddings.

    Every statistic (centering mean, the classifier) is estimated on the labeled images only:
    samples marked -1 in ``y`` are ignored, so this head never learns from unlabeled images.

    Parameters
    ----------
    C:
        Inverse L2 regularisation strength of the logistic regression.
    power:
        Signed power transform applied before normalisation (``None`` to skip).
    center:
        Centre embeddings on the labeled mean before the final L2 normalisation.
    class_weight:
        ``"balanced"`` re-weights classes by inverse frequency (labeled sets grown by a
        person checking hard images are not balanced), ``None`` weighs every image alike.
    blas_threads:
        BLAS threads during fit/predict (``None``: the library's default); see ``_threads``.
    """

    def __init__(
        self,
        *,
        C: float = 10.0,
        power: float | None = 0.5,
        center: bool = True,
        class_weight: str | None = "balanced",
        blas_threads: int | None = 1,
    ) -> None:
        self.C = C
        self.blas_threads = blas_threads
        self.power = power
        self.center = center
        self.class_weight = class_weight

    def _fit(self, X: np.ndarray, y: np.ndarray) -> FastHead:
        labeled = y != UNLABELED
        self.normalizer_ = EmbeddingNormalizer(power=self.power, center=self.center).fit(X[labeled])
        self.model_ = LogisticRegression(
            C=self.C, class_weight=self.class_weight, max_iter=_MAX_ITER
        ).fit(self.normalizer_.transform(X[labeled]), y[labeled])
        self.classes_ = self.model_.classes_
        self.n_features_in_ = X.shape[1]
        return self

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self.normalizer_.transform(X))

"""Embedding normalisation in front of the heads.

Frozen CNN embeddings (post-activation, average-pooled) are non-negative and heavy-tailed; the
few-shot literature (SimpleShot, PT-MAP) and our measurements agree that a power transform,
centering and L2 normalisation make class clouds rounder, so a linear head or a graph over
cosine distances separates them better. Whoever calls ``fit`` decides what the statistics are
estimated on: the fast head passes only the labeled images; the accurate head passes every image
of the job (transductive normalisation), which is what makes it "use the unlabeled images".
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

#: Features are divided by norms no smaller than this, so an all-zero row stays finite.
_NORM_FLOOR = 1e-12


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (all-zero rows stay zero)."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.maximum(norms, _NORM_FLOOR)


def power_transform(X: np.ndarray, power: float | None) -> np.ndarray:
    """Signed power ``sign(x) * |x| ** power``; ``None`` or 1 leaves ``X`` unchanged."""
    if power is None or power == 1.0:
        return X
    return np.sign(X) * np.abs(X) ** power


class EmbeddingNormalizer:
    """power transform -> L2 -> (centre -> optional PCA whitening) -> L2.

    Parameters
    ----------
    power:
        Exponent of the signed power transform (``None`` to skip).
    center:
        Subtract the mean of the fitted embeddings (after the first L2 normalisation).
    n_components:
        If set, project on that many principal components of the fitted embeddings.
    whiten:
        Divide each principal component by its standard deviation (needs ``n_components``).
    """

    def __init__(
        self,
        *,
        power: float | None = 0.5,
        center: bool = True,
        n_components: int | None = None,
        whiten: bool = False,
    ) -> None:
        self.power = power
        self.center = center
        self.n_components = n_components
        self.whiten = whiten

    def _first_stage(self, X: np.ndarray) -> np.ndarray:
        return l2_normalize(power_transform(X, self.power))

    def fit(self, X: np.ndarray) -> EmbeddingNormalizer:
        Z = self._first_stage(X)
        self.mean_ = Z.mean(axis=0) if self.center else np.zeros(Z.shape[1])
        self.components_ = None
        self.scale_ = None
        if self.n_components is not None:
            centred = Z - self.mean_
            # Eigen-decomposition of the d x d covariance: far cheaper than an SVD of the
            # n x d data when there are more images than features.
            covariance = centred.T @ centred / max(Z.shape[0] - 1, 1)
            d = covariance.shape[0]
            k = min(self.n_components, Z.shape[0], d)
            # Only the top k eigenpairs are computed (ascending order, hence the flip).
            variances, vectors = scipy.linalg.eigh(covariance, subset_by_index=[d - k, d - 1])
            self.components_ = vectors[:, ::-1].T
            std = np.sqrt(np.maximum(variances[::-1], 0.0))
            self.scale_ = np.maximum(std, _NORM_FLOOR) if self.whiten else np.ones(k)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        Z = self._first_stage(X) - self.mean_
        if self.components_ is not None:
            Z = (Z @ self.components_.T) / self.scale_
        return l2_normalize(Z)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

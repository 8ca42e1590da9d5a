"""Temperature scaling of class probabilities (Guo et al. 2017) from out-of-fold predictions.

One parameter keeps the ranking of classes and images intact and cannot over-fit the few
labeled images a smart-labeling job starts from (5 a class), which a per-class or isotonic
calibrator would.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

#: Temperatures are searched in [1/_TEMPERATURE_RANGE, _TEMPERATURE_RANGE].
_TEMPERATURE_RANGE = 50.0
#: Probabilities are clipped to this floor before taking logarithms.
_PROBA_FLOOR = 1e-12
#: Cap of an importance weight, in multiples of the mean weight.
_MAX_SHIFT_WEIGHT = 10.0


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities ``softmax(log(proba) / temperature)`` row-wise."""
    logits = np.log(np.clip(proba, _PROBA_FLOOR, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def fit_temperature(
    proba: np.ndarray, targets: np.ndarray, *, sample_weight: np.ndarray | None = None
) -> float:
    """The temperature minimising the (weighted) negative log-likelihood of ``targets``."""
    rows = np.arange(targets.shape[0])
    weight = np.ones(targets.shape[0]) if sample_weight is None else sample_weight

    def nll(log_temperature: float) -> float:
        scaled = apply_temperature(proba, float(np.exp(log_temperature)))
        log_likelihood = np.log(np.clip(scaled[rows, targets], _PROBA_FLOOR, 1.0))
        return float(-np.average(log_likelihood, weights=weight))

    bound = np.log(_TEMPERATURE_RANGE)
    result = minimize_scalar(nll, bounds=(-bound, bound), method="bounded")
    return float(np.exp(result.x))


def shift_weights(
    calibration_confidence: np.ndarray, target_confidence: np.ndarray, *, n_bins: int
) -> np.ndarray:
    """Importance weights that make the calibration set's confidences look like the target's.

    The labeled images a loop accumulates are not a random sample: people check the *hard*
    predictions, so the calibration set is crowded at low confidence while the images left to
    predict are mostly easy. Weighting each calibration image by
    ``share of target images in its confidence bin / share of calibration images there``
    (bins = quantiles of the target's confidences) fits the temperature for the images it
    will be applied to. Bins without calibration images give their mass to nobody; weights
    are capped at ``_MAX_SHIFT_WEIGHT`` times the mean so a lone image cannot dominate.
    """
    edges = np.quantile(target_confidence, np.linspace(0, 1, n_bins + 1)[1:-1])
    target_bins = np.searchsorted(edges, target_confidence, side="right")
    calibration_bins = np.searchsorted(edges, calibration_confidence, side="right")
    target_share = np.bincount(target_bins, minlength=n_bins) / target_bins.size
    calibration_count = np.bincount(calibration_bins, minlength=n_bins)
    weight = target_share[calibration_bins] / np.maximum(calibration_count[calibration_bins], 1)
    weight = weight / weight.mean()
    return np.minimum(weight, _MAX_SHIFT_WEIGHT)

"""The inductive part of a fitted head as plain arrays: saved with a job's model version,
applied to new images in numpy, and exported with the backbone as one ONNX graph.

Both heads end in ``normalizer_`` (power -> L2 -> centre -> optional PCA/whitening -> L2) and a
logistic regression ``model_``; what the accurate head adds at fit time (transductive
normalisation statistics, pseudo-labels) is already folded into those two. ``temperature``
divides the logits so the model's probabilities are the calibrated ones the job published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_NORM_FLOOR = 1e-12
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LinearHead:
    power: float | None
    mean: np.ndarray  # (d,)
    components: np.ndarray | None  # (k, d) or None
    scale: np.ndarray | None  # (k,) or None
    coef: np.ndarray  # (c, k or d); one row for binary problems, as in scikit-learn
    intercept: np.ndarray  # (c,)
    classes: np.ndarray  # (n_classes,) class ids the columns stand for
    temperature: float = 1.0

    @classmethod
    def from_fitted(cls, head, *, temperature: float = 1.0) -> LinearHead:
        """Read a fitted FastHead / AccurateHead (anything with normalizer_ and model_)."""
        normalizer, model = head.normalizer_, head.model_
        return cls(
            power=normalizer.power,
            mean=np.asarray(normalizer.mean_, dtype=np.float64),
            components=None
            if normalizer.components_ is None
            else np.asarray(normalizer.components_, dtype=np.float64),
            scale=None if normalizer.scale_ is None else np.asarray(normalizer.scale_, np.float64),
            coef=np.asarray(model.coef_, dtype=np.float64),
            intercept=np.asarray(model.intercept_, dtype=np.float64),
            classes=np.asarray(model.classes_),
            temperature=float(temperature),
        )

    def logits(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if self.power is not None and self.power != 1.0:
            X = np.sign(X) * np.abs(X) ** self.power
        Z = _l2(X) - self.mean
        if self.components is not None:
            Z = (Z @ self.components.T) / self.scale
        Z = _l2(Z)
        raw = Z @ self.coef.T + self.intercept
        if raw.shape[1] == 1:  # binary logistic regression: one logit for the second class
            raw = np.hstack([np.zeros_like(raw), raw])
        return raw / self.temperature

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits = self.logits(X)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {
            "mean": self.mean,
            "coef": self.coef,
            "intercept": self.intercept,
            "classes": self.classes,
        }
        if self.components is not None:
            arrays["components"] = self.components
            arrays["scale"] = self.scale
        np.savez(folder / "head.npz", **arrays)
        meta = {
            "format_version": FORMAT_VERSION,
            "power": self.power,
            "temperature": self.temperature,
        }
        (folder / "head.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, folder: Path) -> LinearHead:
        meta = json.loads((folder / "head.json").read_text())
        if meta.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{folder}: head format {meta.get('format_version')} is not supported")
        with np.load(folder / "head.npz", allow_pickle=False) as data:
            return cls(
                power=meta["power"],
                mean=data["mean"],
                components=data.get("components"),
                scale=data.get("scale"),
                coef=data["coef"],
                intercept=data["intercept"],
                classes=data["classes"],
                temperature=float(meta["temperature"]),
            )


def _l2(X: np.ndarray) -> np.ndarray:
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), _NORM_FLOOR)

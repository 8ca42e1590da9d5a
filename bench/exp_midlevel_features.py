"""Experiment (kept for reproducibility): do pooled mid-level backbone features help the heads?

Embeds a class-folder dataset with the project's EfficientNet-Lite0 graphs (centre crop 224,
image and mirror): the pooled 1280-channel embedding and the stride-16 / stride-32 blocks of
the pyramid graph, average- and max-pooled. Then K = 5 accuracy of both heads and the fast
head's 5-fold accuracy on all labels for several concatenations (each block L2-normalised).
Result (2026-11-26, in BENCHMARKS.md): no gain over the embedding alone.

    .venv/bin/python bench/exp_midlevel_features.py clothing_small [--seeds 5]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnxruntime as ort
from threadpoolctl import threadpool_limits

from labelloop.ml.classify import cross_val_proba, make_head
from labelloop.ml.features.onnx_export import INPUT_NAME, GraphKind, ensure_onnx
from labelloop.ml.features.preprocess import load_for_backbone, normalise

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUFFIXES = {".jpg", ".jpeg", ".png"}


def embed(name: str, cache: Path) -> dict[str, np.ndarray]:
    out = cache / f"{name}-midlevel.npz"
    if out.exists():
        with np.load(out) as data:
            return dict(data)
    sessions = {kind: ort.InferenceSession(str(ensure_onnx(cache / "model-cache", kind)),
                                           providers=["CPUExecutionProvider"])
                for kind in (GraphKind.EMBEDDING, GraphKind.PYRAMID)}
    classes = sorted(d.name for d in (DATA / name).iterdir() if d.is_dir())
    paths, labels = [], []
    for index, cls in enumerate(classes):
        for file in sorted((DATA / name / cls).iterdir()):
            if file.suffix.lower() in SUFFIXES:
                paths.append(file)
                labels.append(index)
    parts: dict[str, list[np.ndarray]] = {}
    for flip in (False, True):
        for start in range(0, len(paths), 32):
            pixels = np.stack([load_for_backbone(p) for p in paths[start:start + 32]])
            if flip:
                pixels = pixels[:, :, ::-1]
            x = normalise(np.ascontiguousarray(pixels))
            [embedding] = sessions[GraphKind.EMBEDDING].run(None, {INPUT_NAME: x})
            _, p16, p32 = sessions[GraphKind.PYRAMID].run(None, {INPUT_NAME: x})
            for key, value in (("e", embedding), ("p16", p16.mean(axis=(2, 3))),
                               ("p32", p32.mean(axis=(2, 3))), ("p32max", p32.max(axis=(2, 3)))):
                parts.setdefault(f"{key}{int(flip)}", []).append(value)
    arrays = {key: np.concatenate(value) for key, value in parts.items()}
    arrays["y"] = np.array(labels)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(out, **arrays)
    return arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/labelloop-midlevel"))
    args = parser.parse_args()
    data = embed(args.dataset, args.cache)
    y = data["y"]

    def view_mean(key):
        return (data[key + "0"] + data[key + "1"]) / 2

    def l2(a):
        return a / np.linalg.norm(a, axis=1, keepdims=True)

    variants = {
        "embedding": view_mean("e"),
        "embedding + p32": np.hstack([l2(view_mean("e")), l2(view_mean("p32"))]),
        "embedding + p32 + p16": np.hstack([l2(view_mean(k)) for k in ("e", "p32", "p16")]),
        "embedding + p32 max": np.hstack([l2(view_mean("e")), l2(view_mean("p32max"))]),
    }
    with threadpool_limits(1):
        for name, X in variants.items():
            for algorithm in ("fast", "accurate"):
                accuracies = []
                for seed in range(args.seeds):
                    rng = np.random.default_rng(seed)
                    known = np.full_like(y, -1)
                    for label in np.unique(y):
                        known[rng.choice(np.flatnonzero(y == label), 5, replace=False)] = label
                    labeled = known >= 0
                    if algorithm == "fast":
                        head = make_head(algorithm).fit(X[labeled], y[labeled])
                    else:  # labeled rows first, then the open ones, as the job orders them
                        rows = np.concatenate([np.flatnonzero(labeled), np.flatnonzero(~labeled)])
                        head = make_head(algorithm).fit(X[rows], known[rows])
                    accuracies.append(np.mean(head.predict(X[~labeled]) == y[~labeled]))
                line = f"{name:24s} {algorithm:8s} K=5 {np.mean(accuracies):.3f} ± "
                line += f"{np.std(accuracies):.3f}"
                if algorithm == "fast":
                    oof = cross_val_proba(make_head("fast"), X, y, n_folds=5, random_state=0)
                    line += f"  all labels 5-fold {np.mean(oof.argmax(1) == y):.3f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()

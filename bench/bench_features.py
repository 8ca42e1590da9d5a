"""Feature extraction throughput (and the preprocessing choice) on real images.

    .venv/bin/python bench/bench_features.py                  # raw ORT forward vs full pipeline
    .venv/bin/python bench/bench_features.py --sweep          # threads / batch size / spinning
    .venv/bin/python bench/bench_features.py --resize-study   # squash vs centre crop, few-shot

Images: 2,000 by default, half from sign_digits and half from clothing_small in
``../shared/data`` (shuffled with a fixed seed). The raw forward runs the same ONNX Runtime
session on random input, as many images as the pipeline, and the two alternate run by run so
that a busy machine slows both alike; medians are reported with the load average.
Prints Markdown for the "Feature extraction" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelloop.ml.features import FeatureExtractor, ResizeMode
from labelloop.ml.features.extractor import available_cores
from labelloop.ml.features.preprocess import load_rgb, resize_for_backbone

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DATASETS = ("sign_digits", "clothing_small")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


def dataset_images(root: Path, name: str) -> tuple[list[Path], np.ndarray, list[str]]:
    classes = sorted(d.name for d in (root / name).iterdir() if d.is_dir())
    paths: list[Path] = []
    labels: list[int] = []
    for label, cls in enumerate(classes):
        files = sorted(
            p for p in (root / name / cls).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        paths += files
        labels += [label] * len(files)
    return paths, np.array(labels), classes


def sample_images(root: Path, count: int, seed: int = 0) -> list[Path]:
    rng = np.random.default_rng(seed)
    per_dataset = count // len(DATASETS)
    chosen: list[Path] = []
    for name in DATASETS:
        paths, _, _ = dataset_images(root, name)
        picks = rng.choice(len(paths), min(per_dataset, len(paths)), replace=False)
        chosen += [paths[i] for i in sorted(picks)]
    return [chosen[i] for i in rng.permutation(len(chosen))]


def warm_page_cache(paths: list[Path]) -> None:
    for path in paths:
        path.read_bytes()


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


@dataclass
class Measured:
    """Medians over short alternating rounds: images/s, their ratio, CPU ms an image."""

    raw_rate: float
    pipeline_rate: float
    ratio: float  # median of the per-round pipeline/raw ratios
    raw_cpu_ms: float
    pipeline_cpu_ms: float
    raw_runs: list[float]
    pipeline_runs: list[float]


def process_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(
    extractor: FeatureExtractor, paths: list[Path], batch_size: int, runs: int, chunk: int
) -> Measured:
    """Raw forward and full pipeline, alternating on chunks of ``chunk`` images.

    Each pass goes over all ``paths`` in chunks; for every chunk the raw forward (same number
    of images) and the pipeline run back to back, in alternating order. On a shared machine the
    load drifts over minutes, so the ratio of two adjacent short measurements is far steadier
    than the ratio of two long ones. CPU time per image hardly depends on other processes, so
    it tells what the pipeline costs beyond the forward pass even when rates are noisy.
    """
    extractor.benchmark_raw_forward(batch_size=batch_size, batches=1, warmup=1)
    raw, pipeline, ratios, raw_cpu, pipeline_cpu = [], [], [], [], []
    chunks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    for run in range(runs):
        for number, part in enumerate(chunks):
            batches = math.ceil(len(part) / batch_size)
            rates = {}
            order = ("raw", "pipeline") if (run + number) % 2 == 0 else ("pipeline", "raw")
            for step in order:
                cpu_before = process_cpu_seconds()
                began = time.perf_counter()
                if step == "raw":
                    extractor.benchmark_raw_forward(
                        batch_size=batch_size, batches=batches, warmup=0
                    )
                    images = batches * batch_size
                    raw_cpu.append((process_cpu_seconds() - cpu_before) / images)
                else:
                    result = extractor.embed(part, batch_size=batch_size)
                    if result.failed:
                        sys.exit(f"failed to decode: {result.failed}")
                    images = len(part)
                    pipeline_cpu.append((process_cpu_seconds() - cpu_before) / images)
                rates[step] = images / (time.perf_counter() - began)
            raw.append(rates["raw"])
            pipeline.append(rates["pipeline"])
            ratios.append(rates["pipeline"] / rates["raw"])
    median = statistics.median
    return Measured(
        raw_rate=median(raw),
        pipeline_rate=median(pipeline),
        ratio=median(ratios),
        raw_cpu_ms=median(raw_cpu) * 1e3,
        pipeline_cpu_ms=median(pipeline_cpu) * 1e3,
        raw_runs=raw,
        pipeline_runs=pipeline,
    )


def decode_rates(paths: list[Path], root: Path) -> list[str]:
    """Single-thread decode + resize speed, and what draft mode buys on large JPEGs."""
    lines = []
    began = time.perf_counter()
    sample = paths[:500]
    for path in sample:
        resize_for_backbone(load_rgb(path, draft_size=(224, 224)))
    rate = len(sample) / (time.perf_counter() - began)
    lines.append(f"- decode + resize alone, 1 thread: {rate:.0f} img/s ({len(sample)} images)")
    big = [p for p in sorted((root / "sign_digits" / "7").iterdir()) if p.stat().st_size > 200_000]
    if big:
        timings = {}
        for label, draft in (("full decode", None), ("draft mode", (224, 224))):
            began = time.perf_counter()
            for _ in range(3):
                for path in big:
                    resize_for_backbone(load_rgb(path, draft_size=draft))
            timings[label] = (time.perf_counter() - began) / (3 * len(big)) * 1000
        lines.append(
            f"- 3024x3024 phone JPEGs (sign_digits/7): full decode {timings['full decode']:.0f} "
            f"ms/img, draft mode {timings['draft mode']:.0f} ms/img"
        )
    return lines


def throughput(args: argparse.Namespace, cache_dir: Path) -> None:
    paths = sample_images(args.data, args.images)
    warm_page_cache(paths)
    extractor = FeatureExtractor(
        cache_dir,
        intra_op_threads=args.intra_op_threads,
        decode_threads=args.decode_threads,
    )
    load_before = load_average()
    m = measure(extractor, paths, args.batch_size, args.runs, args.chunk)
    print(
        f"### Throughput ({len(paths)} images, batch {args.batch_size}, {args.runs} passes "
        f"in chunks of {args.chunk})"
    )
    print(
        f"- cores: {available_cores()}; load average before/after: {load_before} / {load_average()}"
    )
    print(f"- raw ONNX Runtime forward: **{m.raw_rate:.0f} img/s** (rounds: {spread(m.raw_runs)})")
    print(
        f"- full pipeline (decode + resize + forward): **{m.pipeline_rate:.0f} img/s** "
        f"(rounds: {spread(m.pipeline_runs)})"
    )
    print(f"- pipeline / raw (median of the per-chunk ratios): **{m.ratio:.0%}**")
    print(
        f"- CPU time an image, all threads: raw {m.raw_cpu_ms:.1f} ms, pipeline "
        f"{m.pipeline_cpu_ms:.1f} ms (decode adds {m.pipeline_cpu_ms / m.raw_cpu_ms - 1:.0%})"
    )
    for line in decode_rates(paths, args.data):
        print(line)


def sweep(args: argparse.Namespace, cache_dir: Path) -> None:
    paths = sample_images(args.data, args.images)
    warm_page_cache(paths)
    cores = available_cores()
    configs = [
        {"intra_op_threads": cores, "decode_threads": 1, "batch": 32},
        {"intra_op_threads": cores, "decode_threads": 2, "batch": 32},
        {"intra_op_threads": max(1, cores - 1), "decode_threads": 1, "batch": 32},
        {"intra_op_threads": cores, "decode_threads": 1, "batch": 32, "allow_spinning": True},
        {"intra_op_threads": cores, "decode_threads": 1, "batch": 16},
        {"intra_op_threads": cores, "decode_threads": 1, "batch": 64},
    ]
    print(
        f"### Sweep ({len(paths)} images, {args.runs} passes in chunks of {args.chunk}, "
        f"load {load_average()})"
    )
    print(
        "| ORT threads | decode threads | spinning | batch | raw img/s | pipeline img/s | ratio "
        "| raw CPU ms/img | pipeline CPU ms/img |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for config in configs:
        batch = config.pop("batch")
        extractor = FeatureExtractor(cache_dir, **config)
        m = measure(extractor, paths, batch, args.runs, args.chunk)
        print(
            f"| {config['intra_op_threads']} | {config['decode_threads']} | "
            f"{'on' if config.get('allow_spinning') else 'off'} | {batch} | {m.raw_rate:.0f} | "
            f"{m.pipeline_rate:.0f} | {m.ratio:.0%} | "
            f"{m.raw_cpu_ms:.1f} | {m.pipeline_cpu_ms:.1f} |",
            flush=True,
        )
    print(f"(load average at the end: {load_average()})")


def resize_study(args: argparse.Namespace, cache_dir: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    print("### Resize: squash vs centre crop (5-shot logistic head, 20 seeds; 1-NN; 5-fold CV)")
    print("| dataset | resize | 5-shot | 1-NN leave-one-out | 5-fold logistic |")
    print("|---|---|---|---|---|")
    for name in DATASETS:
        paths, y, _ = dataset_images(args.data, name)
        for mode in (ResizeMode.SQUASH, ResizeMode.CENTER_CROP):
            result = FeatureExtractor(cache_dir, resize_mode=mode).embed(paths)
            x = result.embeddings
            few = few_shot_accuracy(x, y, LogisticRegression)
            nn = nearest_neighbour_accuracy(x, y)
            folds = StratifiedKFold(5, shuffle=True, random_state=0)
            cv = cross_val_score(LogisticRegression(max_iter=3000), x, y, cv=folds).mean()
            print(f"| {name} | {mode.value} | {few:.1%} | {nn:.1%} | {cv:.1%} |", flush=True)


def few_shot_accuracy(x, y, model_class, shots: int = 5, seeds: int = 20) -> float:
    scores = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        labeled = np.concatenate(
            [rng.choice(np.flatnonzero(y == c), shots, replace=False) for c in np.unique(y)]
        )
        rest = np.setdiff1d(np.arange(len(y)), labeled)
        model = model_class(max_iter=3000).fit(x[labeled], y[labeled])
        scores.append(float((model.predict(x[rest]) == y[rest]).mean()))
    return float(np.mean(scores))


def nearest_neighbour_accuracy(x, y) -> float:
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    return float((y[similarity.argmax(axis=1)] == y).mean())


def spread(values: list[float]) -> str:
    return f"{len(values)}, {min(values):.0f}-{max(values):.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3, help="passes over the images")
    parser.add_argument("--chunk", type=int, default=500, help="images a raw/pipeline round")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--intra-op-threads", type=int, default=None)
    parser.add_argument("--decode-threads", type=int, default=None)
    parser.add_argument("--sweep", action="store_true", help="compare thread counts and batches")
    parser.add_argument("--resize-study", action="store_true", help="squash vs centre crop")
    args = parser.parse_args()
    if not all((args.data / name).is_dir() for name in DATASETS):
        sys.exit(f"real datasets {DATASETS} not found under {args.data.resolve()}")
    with tempfile.TemporaryDirectory(prefix="labelloop-bench-") as cache:
        cache_dir = Path(cache)
        if args.resize_study:
            resize_study(args, cache_dir)
        elif args.sweep:
            sweep(args, cache_dir)
        else:
            throughput(args, cache_dir)


if __name__ == "__main__":
    main()

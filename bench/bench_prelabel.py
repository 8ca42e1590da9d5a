"""Pre-labeling throughput of an exported classification model on real images.

    .venv/bin/python bench/bench_prelabel.py                 # 2,000 sign_digits images
    .venv/bin/python bench/bench_prelabel.py --write         # also update BENCHMARKS.md

What runs, in a temporary data directory (SQLite):
1. a classification model as labelloop trains it: a linear head on flip-averaged
   EfficientNet-Lite0 embeddings of 5 labeled images a class (sign_digits, seed 0), saved and
   registered as a trained model (the same model kind a classification job saves);
2. ``export_model`` -> ``model.onnx`` + ``contract.json`` (backbone twice, image and mirror,
   then the head: what the native model computes), registered back as an ONNX upload;
3. a pre-label job (in this process, the worker's code path) on 2,000 other unlabeled images:
   decode + resize + normalise + ONNX Runtime forward + mapping + hard flags + atomic publish;
4. the raw ONNX Runtime forward of the same ``model.onnx`` on random input, same batch size and
   session settings, measured before and after the job (the machine is shared and noisy).

Reports images/s of the job's prediction stage and of the whole job, against the raw forward,
and the accuracy of the pre-labels against the dataset's own labels.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from labelloop.config import Settings
from labelloop.domain import ImageState, TaskType
from labelloop.imaging import probe_image
from labelloop.jobs.runner import run_job
from labelloop.ml.classify.portable import LinearHead
from labelloop.ml.features import PREPROCESS_VERSION, backbone_id
from labelloop.ml.features.extractor import available_cores
from labelloop.ml.runtime.contract import ModelContract
from labelloop.ml.runtime.onnx_model import DEFAULT_BATCH_SIZE, OnnxModel
from labelloop.services import datasets, models
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext
from labelloop.services.features import embed_images
from labelloop.services.model_export import export_model
from labelloop.storage import datasets_repo, images_repo, models_repo

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "sign_digits"
SUFFIXES = {".jpg", ".jpeg", ".png"}
SECTION = "## Pre-labeling"
HEAD_C = 10.0  # the fast head's regularisation
TEMPERATURES = tuple(float(t) for t in np.geomspace(0.05, 5.0, 60))


def class_images(root: Path) -> dict[str, list[Path]]:
    return {
        d.name: sorted(p for p in d.iterdir() if p.suffix.lower() in SUFFIXES)
        for d in sorted(root.iterdir())
        if d.is_dir()
    }


def store(app: AppContext, dataset: str, items: list[tuple[Path, str | None]]) -> dict[int, str]:
    """Add files to ``dataset`` (labeled when a label is given); returns truth by image id."""
    truth = {}
    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, dataset)
        label_ids = datasets_repo.label_ids(session, ds.id)
        for path, label in items:
            info = probe_image(path)
            image_id = images_repo.add_image(
                session,
                dataset_id=ds.id,
                sha256=app.blobs.put_file(path),
                width=info.width,
                height=info.height,
                original_path=f"{path.parent.name}/{path.name}",
                file_format=info.format,
                size_bytes=path.stat().st_size,
                state=ImageState.LABELED if label else ImageState.UNLABELED,
            )
            if label:
                images_repo.set_annotation(session, image_id, label_id=label_ids[label], boxes=[])
            truth[image_id] = path.parent.name
    return truth


def train_head(app: AppContext, dataset: str, classes: list[str]) -> LinearHead:
    """The fast head's recipe in miniature: L2 -> centre -> L2 -> logistic regression, with a
    temperature fitted on out-of-fold logits (as jobs calibrate their heads)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, dataset)
        labeled = images_repo.all_images(session, ds.id, [ImageState.LABELED])
        notes = images_repo.annotations_for(session, ds.id, [i.id for i in labeled])
    embedded = embed_images(app, labeled)
    X = (embedded.embeddings + embedded.flipped) / 2
    y = np.array([classes.index(notes[i.id].label) for i in embedded.images])
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    mean = unit.mean(axis=0)
    Z = unit - mean
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    make = lambda: LogisticRegression(C=HEAD_C, max_iter=2000)  # noqa: E731
    out_of_fold = np.zeros((len(y), len(classes)))
    folds = StratifiedKFold(n_splits=min(5, np.bincount(y).min()), shuffle=True, random_state=0)
    for train, held in folds.split(Z, y):
        out_of_fold[held] = make().fit(Z[train], y[train]).decision_function(Z[held])
    temperature = min(TEMPERATURES, key=lambda t: _nll(out_of_fold / t, y))
    fitted = make().fit(Z, y)
    return LinearHead(
        None, mean, None, None, fitted.coef_, fitted.intercept_, fitted.classes_, temperature
    )


def _nll(logits: np.ndarray, y: np.ndarray) -> float:
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(y)), y].mean())


def raw_forward(
    model: OnnxModel, contract: ModelContract, images: int, batch: int
) -> tuple[float, float]:
    """(images/s, CPU ms an image) of the bare forward of ``model`` on random input."""
    width, height = contract.size
    rng = np.random.default_rng(0)
    data = rng.uniform(-1, 1, size=(batch, 3, height, width)).astype(np.float32)
    model.run_batch(data)  # warm-up
    batches = max(1, images // batch)
    began, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        model.run_batch(data)
    count = batches * batch
    return count / (time.perf_counter() - began), (time.process_time() - cpu) * 1000 / count


def run(args: argparse.Namespace, home: Path) -> dict:
    app = AppContext(Settings.for_home(home))
    try:
        per_class = class_images(args.data)
        classes = list(per_class)
        rng = np.random.default_rng(args.seed)
        train, rest = [], []
        for cls, paths in per_class.items():
            order = rng.permutation(len(paths))
            train += [(paths[i], cls) for i in order[: args.shots]]
            rest += [(paths[i], None) for i in order[args.shots :]]
        rest = [rest[i] for i in rng.permutation(len(rest))[: args.images]]

        t0 = time.perf_counter()
        datasets.create_dataset(app, "train", "classification", classes)
        store(app, "train", train)
        head = train_head(app, "train", classes)
        folder = app.settings.model_dir / "trained"
        head.save(folder)
        with app.db.session() as session:
            trained = models_repo.add_model(
                session,
                name="digits",
                task_type=TaskType.CLASSIFICATION,
                source="trained",
                class_names=classes,
                metrics={},
                config={
                    "kind": "linear-head",
                    "backbone_id": backbone_id(None),
                    "preprocess_version": PREPROCESS_VERSION,
                    "flip_average": True,
                },
                path=str(folder),
            )
        export_dir = home / "export"
        t_export = time.perf_counter()
        export_model(app, trained.ref, export_dir)
        export_seconds = time.perf_counter() - t_export
        contract = ModelContract.load(export_dir / "contract.json")
        models.register_onnx(app, "digits-onnx", export_dir / "model.onnx", contract)
        datasets.create_dataset(app, "bench", "classification", classes)
        truth = store(app, "bench", rest)
        setup_seconds = time.perf_counter() - t0

        for path, _ in rest:  # page cache warm, as on a machine that just imported them
            path.read_bytes()
        forward = OnnxModel(export_dir / "model.onnx", contract)
        raw = [raw_forward(forward, contract, args.raw_images, DEFAULT_BATCH_SIZE)]
        job = job_service.start_job(app, "bench", "pre-label", {"model": "digits-onnx"})
        began, cpu = time.perf_counter(), time.process_time()
        done = run_job(app, job.id)
        job_seconds = time.perf_counter() - began
        job_cpu_ms = (time.process_time() - cpu) * 1000 / len(rest)
        raw.append(raw_forward(forward, contract, args.raw_images, DEFAULT_BATCH_SIZE))
        if done.state.value != "succeeded":
            raise SystemExit(f"the pre-label job failed: {done.error}")
        with app.db.session() as session:
            ds = datasets_repo.get_dataset_by_name(session, "bench")
            found = images_repo.predictions_for(session, ds.id, list(truth))
        right = sum(found[i].label == truth[i] for i in found)
        return {
            "images": len(rest),
            "predicted": len(found),
            "accuracy": right / max(len(found), 1),
            "hard_share": sum(p.hard for p in found.values()) / max(len(found), 1),
            "not_hard_accuracy": _accuracy([p for p in found.values() if not p.hard], truth),
            "predict_ips": done.metrics["images_per_second"],
            "job_ips": len(rest) / job_seconds,
            "job_seconds": job_seconds,
            "raw_ips": [r[0] for r in raw],
            "raw_cpu_ms": [r[1] for r in raw],
            "job_cpu_ms": job_cpu_ms,
            "export_seconds": export_seconds,
            "setup_seconds": setup_seconds,
            "load": f"{os.getloadavg()[0]:.1f}",
        }
    finally:
        app.close()


def _accuracy(preds, truth) -> float:
    return sum(p.label == truth[p.image_id] for p in preds) / max(len(preds), 1)


def markdown(r: dict, args: argparse.Namespace) -> str:
    raw = statistics.median(r["raw_ips"])
    before, after = r["raw_ips"]
    rows = [
        ("what", "images/s"),
        ("---", "---"),
        (
            "raw ONNX Runtime forward of the exported model (before / after the job)",
            f"{before:.1f} / {after:.1f}",
        ),
        (
            "pre-label job, prediction stage (decode + forward)",
            f"**{r['predict_ips']:.1f}** ({r['predict_ips'] / raw:.0%} of the raw forward)",
        ),
        (
            "pre-label job, whole job (load, predict, hard flags, publish)",
            f"{r['job_ips']:.1f} ({r['job_seconds']:.1f} s)",
        ),
    ]
    raw_cpu = statistics.median(r["raw_cpu_ms"])
    cpu_rows = [
        ("what", "CPU ms an image (all threads)"),
        ("---", "---"),
        ("raw forward (before / after)", " / ".join(f"{v:.0f}" for v in r["raw_cpu_ms"])),
        (
            "whole pre-label job",
            f"**{r['job_cpu_ms']:.0f}** (raw forward = {raw_cpu / r['job_cpu_ms']:.0%} of it)",
        ),
    ]
    cores = available_cores()
    cpu_table = "\n".join(f"| {a} | {b} |" for a, b in cpu_rows)
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    return f"""{SECTION}

`bench/bench_prelabel.py` — pre-labeling with an exported classification model on
{r["images"]:,} real photos of `../shared/data/sign_digits` (10 classes, 100x100 JPEGs, three
3024x3024 phone photos), machine: {available_cores()}-core CPU, no GPU, SQLite. The model is a
linear head on flip-averaged EfficientNet-Lite0 embeddings of {args.shots} labeled images a
class with a temperature fitted on out-of-fold logits (the kind of model a classification job
saves), exported with `model export` to one ONNX
graph (backbone on the image and its mirror, then the head: two backbone passes an image) and
registered back with `model register`. The job runs in-process (the worker's code path):
decode + centre crop + normalise in one thread, ONNX Runtime on {available_cores()} threads,
batches of {DEFAULT_BATCH_SIZE}, then mapping, hard flags and the atomic publish. The raw forward
is the same `model.onnx` in the same session settings on random input, measured just before and
after the job.

{table}

Wall-clock figures swing with the machine's load (other jobs share these 2 cores); the CPU time
the process spends an image is steadier and says how much of the job is the forward itself:

{cpu_table}

An estimate, not a measurement: on an idle machine this CPU time would allow about
{cores * 1000 / r["job_cpu_ms"]:.0f} images/s for the job and {cores * 1000 / raw_cpu:.0f} for
the raw forward ({cores} cores / CPU time an image).

Pre-labels agree with the dataset's labels on {r["accuracy"]:.1%} of the {r["predicted"]:,} images
({args.shots}-shot head); {r["hard_share"]:.1%} are flagged hard (top probability < 0.5 or margin
< 0.2), and the not-hard ones are {r["not_hard_accuracy"]:.1%} right. Export of the trained model
took {r["export_seconds"]:.1f} s. Load average at the end: {r["load"]}.

Command: `.venv/bin/python bench/bench_prelabel.py --write` ({time.strftime("%Y-%m-%d")}).
"""


def write_section(text: str, path: Path) -> None:
    """Replace (or append) only the pre-labeling section of BENCHMARKS.md."""
    content = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(content):
        content = pattern.sub(lambda _: text.rstrip() + "\n\n", content, count=1)
    else:
        content = content.rstrip() + "\n\n" + text
    path.write_text(content.rstrip() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--shots", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--raw-images", type=int, default=640, help="images per raw measure")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    args = parser.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"{args.data} not found (../shared/data is needed)")
    with tempfile.TemporaryDirectory(prefix="labelloop-bench-prelabel-") as home:
        result = run(args, Path(home))
    text = markdown(result, args)
    print(text)
    if args.write:
        write_section(text, REPO / "BENCHMARKS.md")


if __name__ == "__main__":
    main()

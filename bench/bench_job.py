"""Job wall time, cold vs warm: an active-learning job on ~2,000 real images.

Run:  .venv/bin/python bench/bench_job.py [--dataset sign_digits] [--per-class 5] [--algorithm fast]
Needs ../shared/data. K images per class keep their label, the rest are imported unlabeled; the
job is run in-process (as the worker runs it). "cold" has an empty embedding cache (the ONNX
backbone already exported), "warm" repeats the job after the first one's embeddings were cached.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from labelloop.config import Settings
from labelloop.jobs.runner import run_job
from labelloop.services import annotating, datasets, importing
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def prepare(app: AppContext, source: Path, per_class: int, seed: int, tmp: Path) -> None:
    """Class folders with K images each plus the rest loose: a partly labeled import."""
    rng = random.Random(seed)
    staged = tmp / "staged"
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.iterdir() if p.is_file())
        rng.shuffle(files)
        for i, f in enumerate(files):
            dest = (
                staged / class_dir.name / f.name
                if i < per_class
                else staged / (f"{class_dir.name}_{f.name}")
            )
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(f, dest)
    datasets.create_dataset(app, "bench", "classification")
    importing.import_path(app, "bench", staged, format_name="imagenet")


def timed_job(app: AppContext, algorithm: str) -> tuple[float, dict]:
    job = job_service.start_job(app, "bench", "auto-label", {"algorithm": algorithm})
    t0 = time.perf_counter()
    done = run_job(app, job.id)
    seconds = time.perf_counter() - t0
    if done.state.value != "succeeded":
        sys.exit(f"job failed: {done.error}")
    return seconds, done.metrics


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="sign_digits")
    parser.add_argument("--per-class", type=int, default=5)
    parser.add_argument("--algorithm", default="fast")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    source = DATA / args.dataset
    if not source.is_dir():
        sys.exit(f"{source} not found: this benchmark needs ../shared/data")
    with tempfile.TemporaryDirectory() as tmp:
        app = AppContext(Settings.for_home(Path(tmp) / "home"))
        prepare(app, source, args.per_class, args.seed, Path(tmp))
        overview = datasets.dataset_overview(app, "bench")
        print(f"dataset: {overview.counts}")
        t_first, _ = timed_job(app, args.algorithm)  # includes the one-time ONNX export
        with app.db.session() as session:  # forget the embeddings: a cold job again
            session.execute(text("DELETE FROM embeddings"))
        annotating.reject(app, "bench", [str(i) for i in _to_confirm_ids(app)])
        t_cold, m_cold = timed_job(app, args.algorithm)
        annotating.reject(app, "bench", [str(i) for i in _to_confirm_ids(app)])
        t_warm, m_warm = timed_job(app, args.algorithm)
        app.close()
    print(f"first job (ONNX export + embed): {t_first:6.1f} s")
    print(
        f"cold job (embed everything):      {t_cold:6.1f} s  "
        f"embed {m_cold['embed_seconds']} s, train+hard {m_cold['train_seconds']} s"
    )
    print(
        f"warm job (embeddings cached):     {t_warm:6.1f} s  "
        f"embedded now {m_warm['embedded_now']}, train+hard {m_warm['train_seconds']} s"
    )
    print(f"warm / cold = {t_warm / t_cold:.1%}")


def _to_confirm_ids(app: AppContext) -> list[int]:
    from labelloop.domain import ImageState
    from labelloop.storage import datasets_repo, images_repo

    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, "bench")
        return images_repo.image_ids(session, dataset.id, ImageState.TO_CONFIRM)


if __name__ == "__main__":
    main()

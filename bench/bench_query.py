"""Query benchmark: state counts and one page of 100 images on a 1,000,000-image dataset.

Rows only (no files). Run:  .venv/bin/python bench/bench_query.py [--rows 1000000] [--url URL]
Prints median milliseconds of the repository calls the CLI and web app use.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

from labelloop.domain import ImageState, TaskType
from labelloop.storage import datasets_repo, images_repo
from labelloop.storage.database import Database
from labelloop.storage.tables import ImageRow, utcnow


def fill(db: Database, rows: int) -> int:
    with db.session() as session:
        dataset = datasets_repo.create_dataset(session, "big", TaskType.CLASSIFICATION)
        datasets_repo.add_labels(session, dataset.id, [("a", "#000000"), ("b", "#111111")])
    rng = random.Random(0)
    states = [ImageState.UNLABELED.value] * 6 + [ImageState.TO_CONFIRM.value] * 3 + [
        ImageState.LABELED.value
    ]
    now = utcnow()
    batch = 50_000
    for start in range(0, rows, batch):
        values = [
            {
                "dataset_id": dataset.id,
                "sha256": f"{i:064x}",
                "width": 640,
                "height": 480,
                "original_path": f"img/{i:07d}.jpg",
                "file_format": "JPEG",
                "size_bytes": 50_000,
                "state": rng.choice(states),
                "created_at": now,
            }
            for i in range(start, min(rows, start + batch))
        ]
        with db.session() as session:
            session.execute(insert(ImageRow), values)
    with db.session() as session:  # the bulk insert bypassed the repository's counters
        images_repo.rebuild_counts(session, dataset.id)
    return dataset.id


def timed(fn, repeats: int = 15) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = Database(url)
        db.migrate()
        t0 = time.perf_counter()
        dataset_id = fill(db, args.rows)
        print(f"filled {args.rows:,} rows in {time.perf_counter() - t0:.1f} s ({db.dialect})")
        with db.session() as session:
            session.connection().exec_driver_sql("ANALYZE")

        def counts():
            with db.session() as session:
                return images_repo.count_by_state(session, dataset_id)

        def page(after: int):
            flt = images_repo.ImageFilter(state=ImageState.TO_CONFIRM)
            with db.session() as session:
                return images_repo.page_images(session, dataset_id, flt, after_id=after, limit=100)

        assert sum(counts().values()) == args.rows
        assert len(page(0)) == 100
        results = {
            "state counts": timed(counts),
            "first page of 100 to_confirm": timed(lambda: page(0)),
            "page of 100 to_confirm at the middle": timed(lambda: page(args.rows // 2)),
            "page of 100 to_confirm near the end": timed(lambda: page(args.rows - 1000)),
        }
        for name, ms in results.items():
            print(f"{name:40s} {ms:8.2f} ms (median of 15)")
        db.dispose()


if __name__ == "__main__":
    main()

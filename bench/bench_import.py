"""Import benchmark: images/s importing a real labeled photo set (~2,000 images).

Run:  .venv/bin/python bench/bench_import.py [--dataset sign_digits] [--repeats 3]
Needs ../shared/data beside the repository. Each repeat imports into a fresh data directory
(SQLite), so every image is probed, hashed, copied and recorded.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labelloop.config import Settings
from labelloop.services import datasets, importing
from labelloop.services.context import AppContext

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="sign_digits")
    parser.add_argument("--format", default="imagenet")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    source = DATA / args.dataset
    if not source.is_dir():
        sys.exit(f"{source} not found: this benchmark needs ../shared/data")
    rates = []
    for _ in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            app = AppContext(Settings.for_home(Path(tmp)))
            task = "detection" if args.format in ("voc", "coco", "yolo") else "classification"
            datasets.create_dataset(app, "bench", task)
            t0 = time.perf_counter()
            report = importing.import_path(app, "bench", source, format_name=args.format)
            seconds = time.perf_counter() - t0
            app.close()
        rates.append(report.imported / seconds)
        print(
            f"imported {report.imported} images ({report.labeled} labeled, "
            f"{len(report.skipped)} skipped, {len(report.duplicates)} duplicates) "
            f"in {seconds:.1f} s = {report.imported / seconds:.0f} images/s"
        )
    print(f"median: {statistics.median(rates):.0f} images/s over {len(rates)} runs")


if __name__ == "__main__":
    main()

"""How right are the pre-labels a person would bulk-confirm as "not hard"?

The flow a user follows, through the CLI: 15 labeled images a class of ../shared/data/sign_digits
and the rest unlabeled -> active learning (fast) -> ``model export`` -> ``model register`` the
file -> pre-label a fresh copy of the unlabeled images. Prints, for the active-learning job and
for the pre-label job, how many proposals are not hard and how many of those are right.

    .venv/bin/python bench/bench_prelabel_flags.py [--per-class 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sign_digits"
CLI = str(Path(sys.executable).parent / "labelloop")


def cli(*args: str, env: dict) -> dict | list | None:
    out = subprocess.run(
        [CLI, *args, "--json"], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out) if out.strip() else None


def split(work: Path, per_class: int) -> None:
    """Class folders of ``per_class`` labeled images; every other image in one plain folder,
    its true class kept in the file name (``<class>__<name>``)."""
    for folder in sorted(p for p in DATA.iterdir() if p.is_dir()):
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in (".jpg", ".png"))
        for i, file in enumerate(files):
            if i < per_class:
                dest = work / "labeled" / folder.name / file.name
            else:
                dest = work / "open" / f"{folder.name}__{file.name}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, dest)


def not_hard_precision(dataset: str, env: dict) -> tuple[int, int, int]:
    items, after = [], 0
    while True:
        page = cli("images", dataset, "--state", "to_confirm", "--limit", "1000",
                   "--after", str(after), env=env)  # fmt: skip
        items += page["items"]
        if not page.get("next_after"):
            break
        after = page["next_after"]
    not_hard = [i for i in items if not i["prediction"]["hard"]]
    right = sum(i["file"].split("__")[0] == i["prediction"]["label"] for i in not_hard)
    return len(items), len(not_hard), right


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=15)
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"{DATA} is missing")
    with tempfile.TemporaryDirectory(prefix="bench-flags-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "LABELLOOP_HOME": str(work / "home")}
        env.pop("LABELLOOP_DATABASE_URL", None)
        split(work, args.per_class)
        cli("dataset", "create", "sd", "--type", "classification", env=env)
        cli("import", "sd", str(work / "labeled"), "--format", "imagenet", env=env)
        cli("import", "sd", str(work / "open"), "--format", "folder", env=env)
        job = cli("smart-label", "sd", "--type", "active", "--algorithm", "fast", "--wait",
                  env=env)  # fmt: skip
        model = f"{job['result']['model']['name']}:{job['result']['model']['version']}"
        cli("model", "export", model, str(work / "exported"), env=env)
        cli("model", "register", "sd-exported", "--onnx", str(work / "exported" / "model.onnx"),
            "--contract", str(work / "exported" / "contract.json"), env=env)  # fmt: skip
        cli("dataset", "create", "sd2", "--type", "classification", env=env)
        cli("label", "add", "sd2", *[p.name for p in sorted(DATA.iterdir()) if p.is_dir()],
            env=env)  # fmt: skip
        cli("import", "sd2", str(work / "open"), "--format", "folder", env=env)
        pre = cli("smart-label", "sd2", "--type", "prelabel", "--model", "sd-exported", "--wait",
                  env=env)  # fmt: skip
        metrics = job["metrics"]
        print(
            f"active learning: hard threshold {metrics['hard_threshold']}, "
            f"estimated not-hard precision {metrics['estimated_precision_not_hard']}"
        )
        print(f"pre-label hard rule: {pre['result']['hard_rule']}")
        for name, dataset in (("active learning", "sd"), ("pre-label, exported model", "sd2")):
            total, not_hard, right = not_hard_precision(dataset, env)
            print(f"{name}: {total} proposals, {not_hard} not hard, {right} of them right "
                  f"({right / max(1, not_hard):.1%})")  # fmt: skip


if __name__ == "__main__":
    main()

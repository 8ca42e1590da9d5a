"""Detection smart-labeling benchmark (design section 7) on bccd and playing_cards_voc.

For each dataset, K (labeled images a class) and seed: keep K images a class (an image counts
for every class it holds a box of), hide the rest, train, predict the hidden images and compare
with the hidden truth: AP50 (VOC, all candidates), precision/recall of the shown boxes, how
often each hard type is right, effort saved under the cost model, residual error. Upper bound:
the same detector trained on the dataset's own train split, scored on its test split.

Backbone features are cached on disk (``--feature-cache``, default /tmp/labelloop-det-features)
so reruns skip the backbone. Results are appended as JSON lines to ``--results``; ``--report``
turns them into the "## Detection smart labeling" section of BENCHMARKS.md.

    python bench/bench_detect.py --datasets bccd playing_cards_voc --k 5 10 20 --seeds 0 1 2
    python bench/bench_detect.py --upper-bound --datasets bccd playing_cards_voc
    python bench/bench_detect.py --report
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from defusedxml import ElementTree

from labelloop.ml.detect import (
    DetectorSettings,
    DetectorTrainer,
    match_boxes,
    mean_average_precision,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COST_DRAW, COST_CHECK, COST_DELETE, COST_FIX_CLASS, COST_GLANCE = 7.0, 1.5, 1.0, 2.0, 0.3


def load_voc(name: str):
    """(class names, [(image path, xyxy boxes, labels)]); degenerate boxes are dropped."""
    root = DATA / name
    records, names = [], set()
    for xml in sorted((root / "annotations").glob("*.xml")):
        tree = ElementTree.parse(xml).getroot()
        objects = []
        for obj in tree.findall("object"):
            box = obj.find("bndbox")
            x0, y0, x1, y1 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            if x1 - x0 >= 1 and y1 - y0 >= 1:
                objects.append((obj.find("name").text, x0, y0, x1, y1))
                names.add(obj.find("name").text)
        image = root / "images" / tree.find("filename").text
        if not image.is_file():
            image = next((root / "images").glob(xml.stem + ".*"))
        records.append((image, objects))
    classes = sorted(names)
    items = [(path, np.array([o[1:] for o in objs], dtype=float).reshape(-1, 4),
              np.array([classes.index(o[0]) for o in objs], dtype=np.int64))
             for path, objs in records]
    return classes, items


def pick_labeled(items, k: int, n_classes: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    counts = np.zeros(n_classes)
    chosen = []
    for index in rng.permutation(len(items)):
        present = set(items[index][2].tolist())
        if any(counts[c] < k for c in present):
            chosen.append(int(index))
            for c in present:
                counts[c] += 1
        if (counts >= k).all():
            break
    return chosen


def as_xywh_boxes(boxes, labels):
    return [(int(lab), b[0], b[1], b[2] - b[0], b[3] - b[1])
            for b, lab in zip(boxes, labels, strict=True)]


def score_image(result, gt_boxes, gt_labels):
    """Counts of right / false / wrong-class shown boxes and missed objects of one image."""
    xyxy = np.concatenate([result.boxes[:, :2], result.boxes[:, :2] + result.boxes[:, 2:]], 1)
    m = match_boxes(xyxy, result.scores, result.labels, gt_boxes, gt_labels)
    right = int(m.true_positives.sum())
    wrong = xyxy[~m.true_positives]
    wrong_class = 0
    if len(wrong) and len(gt_boxes):
        from labelloop.ml.detect import iou_matrix
        wrong_class = int(((iou_matrix(wrong, gt_boxes[~m.gt_matched]) >= 0.5).any(1)).sum()
                          if (~m.gt_matched).any() else 0)
    false = len(wrong) - wrong_class
    missed = int((~m.gt_matched).sum()) - wrong_class
    return {"right": right, "false": false, "wrong_class": wrong_class, "missed": max(missed, 0)}


def cost_with_labelloop(result, counts) -> tuple[float, int]:
    """(seconds, errors left) for one predicted image under the cost model."""
    if result.hard_type == "none":
        residual = counts["false"] + counts["wrong_class"] + counts["missed"]
        return COST_GLANCE, residual
    seconds = (COST_CHECK * counts["right"] + COST_DELETE * counts["false"]
               + COST_FIX_CLASS * counts["wrong_class"] + COST_DRAW * counts["missed"])
    return seconds, 0


def evaluate(detector, items, hidden, n_classes):
    paths = [items[i][0] for i in hidden]
    t0 = time.perf_counter()
    results = detector.predict(paths)
    predict_s = time.perf_counter() - t0
    truths = [(items[i][1], items[i][2]) for i in hidden]
    ap, per_class = mean_average_precision(detector.all_candidates(paths), truths, n_classes)
    rows = [score_image(r, *t) for r, t in zip(results, truths, strict=True)]
    shown = sum(r["right"] + r["false"] + r["wrong_class"] for r in rows)
    n_gt = sum(len(t[1]) for t in truths)
    typed = {"false_detection": [], "missed_detection": [], "none": []}
    by_hand = labelloop = 0.0
    residual = 0
    for result, counts, truth in zip(results, rows, truths, strict=True):
        holds_false = counts["false"] + counts["wrong_class"] > 0
        typed[result.hard_type].append({
            "false_detection": holds_false, "missed_detection": counts["missed"] > 0,
            "none": not holds_false and counts["missed"] == 0}[result.hard_type])
        seconds, left = cost_with_labelloop(result, counts)
        labelloop += seconds
        residual += left
        by_hand += COST_DRAW * len(truth[1])
    right = sum(r["right"] for r in rows)
    return {
        "ap50": ap, "ap50_per_class": per_class.tolist(),
        "precision": right / max(shown, 1), "recall": right / max(n_gt, 1),
        "typed_share": {k: len(v) / len(results) for k, v in typed.items()},
        "typed_precision": {k: (float(np.mean(v)) if v else None) for k, v in typed.items()},
        "effort_saved": 1 - labelloop / by_hand, "residual_error": residual / max(n_gt, 1),
        "predict_images_per_s": len(paths) / predict_s, "hidden_images": len(paths),
    }


def run_one(name, k, seed, unlabeled, args):
    classes, items = load_voc(name)
    labeled = pick_labeled(items, k, len(classes), seed)
    hidden = [i for i in range(len(items)) if i not in set(labeled)]
    settings = DetectorSettings(seed=seed, use_unlabeled=unlabeled)
    trainer = DetectorTrainer(args.model_cache, feature_cache_dir=args.feature_cache,
                              settings=settings)
    t0 = time.perf_counter()
    detector = trainer.fit([items[i][0] for i in labeled],
                           [as_xywh_boxes(items[i][1], items[i][2]) for i in labeled],
                           len(classes), unlabeled=[items[i][0] for i in hidden])
    train_s = time.perf_counter() - t0
    row = {"dataset": name, "k": k, "seed": seed, "unlabeled": unlabeled,
           "labeled_images": len(labeled), "train_s": train_s, "classes": classes,
           "input_size": detector.meta.input_size, "cv": detector.metrics}
    row.update(evaluate(detector, items, hidden, len(classes)))
    return row


def run_upper_bound(name, args):
    classes, items = load_voc(name)
    stems = {s.strip() for s in (DATA / name / "split_train.txt").read_text().split()}
    train = [i for i, it in enumerate(items) if Path(it[0]).stem in stems]
    test = [i for i in range(len(items)) if i not in set(train)]
    trainer = DetectorTrainer(args.model_cache, feature_cache_dir=args.feature_cache,
                              settings=DetectorSettings(use_unlabeled=False))
    t0 = time.perf_counter()
    detector = trainer.fit([items[i][0] for i in train],
                           [as_xywh_boxes(items[i][1], items[i][2]) for i in train],
                           len(classes))
    row = {"dataset": name, "k": "all (train split)", "seed": 0, "unlabeled": False,
           "labeled_images": len(train), "train_s": time.perf_counter() - t0,
           "classes": classes, "input_size": detector.meta.input_size, "cv": detector.metrics}
    row.update(evaluate(detector, items, test, len(classes)))
    return row


def run_loop(name, k, seed, args, max_rounds: int = 4):
    """Smart labeling as a person would use it: each round the hardest images are checked and
    fixed (they become labeled), the detector retrains; labelloop stops when its own
    cross-validated AP50 estimate stops improving or few hard images are left."""
    classes, items = load_voc(name)
    labeled = pick_labeled(items, k, len(classes), seed)
    pool = [i for i in range(len(items)) if i not in set(labeled)]
    batch = int(np.ceil(0.1 * len(pool)))
    by_hand = COST_DRAW * sum(len(items[i][2]) for i in range(len(items)))
    spent = COST_DRAW * sum(len(items[i][2]) for i in labeled)
    previous_estimate, rounds = -1.0, []
    for round_number in range(max_rounds + 1):
        trainer = DetectorTrainer(args.model_cache, feature_cache_dir=args.feature_cache,
                                  settings=DetectorSettings(seed=seed, use_unlabeled=False))
        detector = trainer.fit([items[i][0] for i in labeled],
                               [as_xywh_boxes(items[i][1], items[i][2]) for i in labeled],
                               len(classes))
        results = detector.predict([items[i][0] for i in pool])
        estimate = detector.metrics["ap50_estimate"]
        hard = [j for j, r in enumerate(results) if r.hard]
        rounds.append({"labeled": len(labeled), "ap50_estimate": estimate,
                       "hard_in_pool": len(hard), "pool": len(pool)})
        stop = (round_number == max_rounds or len(hard) <= batch
                or estimate < previous_estimate + 0.02)
        if stop:
            residual = 0
            for j, r in enumerate(results):
                seconds, left = cost_with_labelloop(r, score_image(r, *items[pool[j]][1:]))
                spent += seconds
                residual += left
            n_gt = sum(len(items[i][2]) for i in pool)
            return {"dataset": name, "k": k, "seed": seed, "mode": "loop", "rounds": rounds,
                    "effort_saved": 1 - spent / by_hand, "residual_error": residual / n_gt,
                    "final_pool": len(pool)}
        previous_estimate = estimate
        order = sorted(range(len(results)), key=lambda j: -results[j].hard_coefficient)[:batch]
        for j in order:
            seconds, _ = cost_with_labelloop(
                _as_hard(results[j]), score_image(results[j], *items[pool[j]][1:]))
            spent += seconds
        labeled += [pool[j] for j in order]
        pool = [i for j, i in enumerate(pool) if j not in set(order)]
    raise AssertionError("unreachable")


def _as_hard(result):
    """A checked image costs the check even if it was typed none."""
    from dataclasses import replace

    return replace(result, hard_type="false_detection") if not result.hard else result


def run_timing(name, args, n_images: int = 40, repeats: int = 3):
    """Images/s of predict (decode + backbone + head, original and mirrored view, no feature
    cache) against the raw ONNX Runtime forward of the exported backbone+head graph on
    pre-decoded inputs (one view), alternated ``repeats`` times; medians."""
    import tempfile

    import onnxruntime as ort

    from labelloop.ml.detect import TrainedDetector
    from labelloop.ml.detect._features import ORIGINAL, load_view

    classes, items = load_voc(name)
    labeled = pick_labeled(items, 10, len(classes), 0)
    others = [i for i in range(len(items)) if i not in set(labeled)][:n_images]
    detector = DetectorTrainer(args.model_cache, feature_cache_dir=args.feature_cache,
                               settings=DetectorSettings(use_unlabeled=False)).fit(
        [items[i][0] for i in labeled],
        [as_xywh_boxes(items[i][1], items[i][2]) for i in labeled], len(classes))
    paths = [items[i][0] for i in others]
    predict_rates, raw_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = detector.save(Path(tmp) / "m")
        TrainedDetector.load(folder, cache_dir=args.model_cache).predict(paths[:2])  # warm-up
        graph = detector.export_onnx(Path(tmp) / "d.onnx")
        session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
        size = detector.meta.input_size
        arrays = np.stack([load_view(p, size, ORIGINAL)[0] for p in paths])
        session.run(None, {"images": arrays[:4]})
        for _ in range(repeats):  # alternate the two, so load changes hit both alike
            cold = TrainedDetector.load(folder, cache_dir=args.model_cache)  # no feature cache
            t0 = time.perf_counter()
            cold.predict(paths)
            predict_rates.append(len(paths) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for start in range(0, len(arrays), 4):
                session.run(None, {"images": arrays[start:start + 4]})
            raw_rates.append(len(arrays) / (time.perf_counter() - t0))
    return {"dataset": name, "mode": "timing", "input_size": size, "images": len(paths),
            "repeats": repeats, "load_average": os.getloadavg()[0],
            "predict_images_per_s_two_views": float(np.median(predict_rates)),
            "raw_onnx_forward_images_per_s": float(np.median(raw_rates)),
            "predict_runs": predict_rates, "raw_runs": raw_rates}


SECTION = "## Detection smart labeling"


def _mean_std(values) -> str:
    values = [v for v in values if v is not None and not np.isnan(v)]
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def _pooled_typed(group, hard_type: str) -> str:
    """Share of the images typed ``hard_type`` that really are so, pooled over the seeds
    (a per-seed mean over one or two typed images would swing 0 to 1), with their number."""
    typed = right = 0.0
    for g in group:
        count = g["typed_share"][hard_type] * g["hidden_images"]
        typed += count
        right += (g["typed_precision"][hard_type] or 0.0) * count
    n = round(typed)
    return "- (0)" if n == 0 else f"{right / typed:.2f} ({n})"


def _latest_runs(rows) -> list[dict]:
    """One row per (dataset, K, seed, unlabeled): a rerun replaces the earlier one."""
    latest = {}
    for row in rows:
        latest[(row["dataset"], str(row["k"]), row["seed"], row["unlabeled"])] = row
    return list(latest.values())


def _per_view_ratio(row) -> float:
    """Predict runs two views an image, the raw forward one: compare per view."""
    return 2 * row["predict_images_per_s_two_views"] / row["raw_onnx_forward_images_per_s"]


def _latest_timings(rows) -> list[dict]:
    return list({row["dataset"]: row for row in rows}.values())


def summary_table(rows) -> list[str]:
    lines = ["| dataset | K | unlabeled | seeds | labeled imgs | AP50 (mean) | AP50 per class "
             "| shown P / R | typed false ok (n) | typed missed ok (n) | typed none ok (n) "
             "| hard share "
             "| effort saved | residual err | train s |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["dataset"], str(row["k"]), row["unlabeled"]), []).append(row)
    def order(key):
        name, k, unlabeled = key
        return name, int(k) if k.isdigit() else 10**6, unlabeled

    for (name, k, unlabeled), group in sorted(groups.items(), key=lambda item: order(item[0])):
        classes = group[0]["classes"]
        per_class = np.nanmean([g["ap50_per_class"] for g in group], axis=0)
        lines.append("| " + " | ".join([
            name, k, "yes" if unlabeled else "no", str(len(group)),
            f"{np.mean([g['labeled_images'] for g in group]):.0f}",
            _mean_std([g["ap50"] for g in group]),
            ", ".join(f"{c} {v:.2f}" for c, v in zip(classes, per_class, strict=True)),
            f"{np.mean([g['precision'] for g in group]):.2f} / "
            f"{np.mean([g['recall'] for g in group]):.2f}",
            *[_pooled_typed(group, t) for t in ("false_detection", "missed_detection", "none")],
            f"{np.mean([1 - g['typed_share']['none'] for g in group]):.2f}",
            _mean_std([g["effort_saved"] for g in group]),
            f"{np.mean([g['residual_error'] for g in group]):.3f}",
            f"{np.mean([g['train_s'] for g in group]):.0f}",
        ]) + " |")
    return lines


def write_report(results: Path, benchmarks: Path) -> None:
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    plain = _latest_runs([r for r in rows if "mode" not in r])
    body = [SECTION, "", "Generated by `bench/bench_detect.py --report` from the JSON lines of "
            "its runs.", "", *summary_table(plain), ""]
    notes = results.with_suffix(".notes.md")
    if notes.is_file():  # hand-written reading of the figures, kept with the results
        body += [notes.read_text().strip(), ""]
    loops = sorted({(r["dataset"], r["k"], r["seed"]): r for r in rows
                    if r.get("mode") == "loop"}.values(),
                   key=lambda r: (r["dataset"], r["k"], r["seed"]))
    if loops:
        body += ["Loop (check hardest 10% of the pool a round, retrain, stop on the model's "
                 "own AP50 estimate):", "",
                 "| dataset | K | seed | rounds (labeled → CV AP50 est., hard in pool) "
                 "| effort saved | residual err |", "|---|---|---|---|---|---|"]
        body += [f"| {r['dataset']} | {r['k']} | {r['seed']} | " + "; ".join(
            f"{x['labeled']} → {x['ap50_estimate']:.2f}, {x['hard_in_pool']}/{x['pool']}"
            for x in r["rounds"]) + f" | {r['effort_saved']:.3f} | {r['residual_error']:.3f} |"
            for r in loops]
        body.append("")
    timings = [r for r in rows if r.get("mode") == "timing"]
    if timings:
        body += ["| dataset | input | predict img/s (decode + backbone + head, 2 views) "
                 "| raw ONNX Runtime forward img/s (1 view) | predict / raw, per view "
                 "| runs, load average |", "|---|---|---|---|---|---|"]
        body += [f"| {r['dataset']} | {r['input_size']} | "
                 f"{r['predict_images_per_s_two_views']:.1f} | "
                 f"{r['raw_onnx_forward_images_per_s']:.1f} | "
                 f"{_per_view_ratio(r):.0%} | {r.get('repeats', 1)}, "
                 f"{r.get('load_average', float('nan')):.1f} |"
                 for r in _latest_timings(timings)]
        body.append("")
    text = benchmarks.read_text() if benchmarks.is_file() else "# Benchmarks\n"
    start = text.find(SECTION)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + "\n".join(body)
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + "\n".join(body) + ("\n" + text[end + 1:] if end >= 0 else "")
    benchmarks.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["bccd", "playing_cards_voc"])
    parser.add_argument("--k", nargs="+", type=int, default=[5, 10, 20])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--unlabeled", choices=["no", "yes", "both"], default="no")
    parser.add_argument("--upper-bound", action="store_true")
    parser.add_argument("--loop", action="store_true", help="effort saved with retraining")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--results", default="/tmp/labelloop-bench-detect.jsonl")
    parser.add_argument("--model-cache", default="/tmp/labelloop-models")
    parser.add_argument("--feature-cache", default="/tmp/labelloop-det-features")
    args = parser.parse_args()
    if args.report:
        write_report(Path(args.results), Path(__file__).resolve().parents[1] / "BENCHMARKS.md")
        return
    jobs = []
    for name in args.datasets:
        if args.upper_bound:
            jobs.append(lambda name=name: run_upper_bound(name, args))
            continue
        if args.timing:
            jobs.append(lambda name=name: run_timing(name, args))
            continue
        if args.loop:
            jobs += [lambda n=name, k=k, s=seed: run_loop(n, k, s, args)
                     for k in args.k for seed in args.seeds]
            continue
        for k in args.k:
            for seed in args.seeds:
                for flag in {"no": [False], "yes": [True], "both": [False, True]}[args.unlabeled]:
                    jobs.append(lambda n=name, k=k, s=seed, f=flag: run_one(n, k, s, f, args))
    for job in jobs:
        row = job()
        with open(args.results, "a") as out:
            out.write(json.dumps(row) + "\n")
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, (list, dict))}),
              flush=True)


if __name__ == "__main__":
    main()

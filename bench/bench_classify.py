"""Classification smart labeling on real data: heads, hard flags and the confirm-and-fix loop.

    .venv/bin/python bench/bench_classify.py                       # everything, 5 seeds
    .venv/bin/python bench/bench_classify.py --seeds 10 --datasets sign_digits
    .venv/bin/python bench/bench_classify.py --skip-loop           # accuracy + flags only

Protocol (design.md section 7): keep K = 5 labeled images a class (chosen with the seed), hide
the rest, run the job, compare with the hidden truth. Embeddings are EfficientNet-Lite0 pooled
features of the image and of its mirror (``ml.features``), read from ``--embeddings``
(``<name>.npz`` with X, X_flip, y); missing files are computed with the project's extractor.
Both heads see the flip-averaged embedding.

The loop: each round the head is trained on what is known, its predictions on the remaining
images are scored; if the product's own estimate says that bulk-confirming all of them would be
right at >= 98% (no image is left hard), they are bulk-confirmed and the loop stops; otherwise
the simulated person checks the hardest 5% of the dataset (fixing the wrong ones), and those
join the labeled images. Costs (seconds): labeling by hand 3.0 an image; with labelloop the K
initial labels 3.0 each, a check 1.0, a fix 3.0 more, a bulk-confirmed image 0.3.

Prints Markdown for the "Classification smart labeling" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from labelloop.ml.classify import UNLABELED, average_views, cross_val_proba, make_head
from labelloop.ml.hard import score_classification_hardness
from labelloop.ml.query import select_diverse

DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEFAULT_EMBEDDINGS = Path("/tmp/labelloop-emb")
DATASETS = ("clothing_small", "sign_digits")
ALGORITHMS = ("fast", "accurate")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}

SHOTS = 5
CHECK_SHARE = 0.05  # of the dataset, checked by the person each round
TARGET_PRECISION = 0.98
COST_BY_HAND = 3.0
COST_CHECK = 1.0
COST_FIX = 3.0
COST_BULK = 0.3


@dataclass
class Embeddings:
    X: np.ndarray  # flip-averaged view
    X_original: np.ndarray
    X_flip: np.ndarray
    y: np.ndarray


def load_embeddings(name: str, folder: Path, data_root: Path) -> Embeddings:
    path = folder / f"{name}.npz"
    if not path.exists():
        compute_embeddings(name, path, data_root)
    with np.load(path, allow_pickle=False) as data:
        X, X_flip, y = (data[key] for key in ("X", "X_flip", "y"))
    X, X_flip = X.astype(np.float64), X_flip.astype(np.float64)
    return Embeddings(average_views(X, X_flip), X, X_flip, y.astype(np.int64))


def compute_embeddings(name: str, path: Path, data_root: Path) -> None:
    from labelloop.ml.features import FeatureExtractor

    classes = sorted(d.name for d in (data_root / name).iterdir() if d.is_dir())
    paths, labels = [], []
    for label, cls in enumerate(classes):
        for file in sorted((data_root / name / cls).iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(str(file))
                labels.append(label)
    print(f"embedding {len(paths)} images of {name} ...", file=sys.stderr)
    result = FeatureExtractor(path.parent / "model-cache").embed(paths, flip=True)
    if result.failed:
        raise SystemExit(f"{name}: could not embed {result.failed}")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=result.embeddings, X_flip=result.flipped, y=np.array(labels))


def initial_labels(y: np.ndarray, shots: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    known = np.full_like(y, UNLABELED)
    for label in np.unique(y):
        picks = rng.choice(np.flatnonzero(y == label), shots, replace=False)
        known[picks] = label
    return known


def fit_and_score(algorithm: str, data: Embeddings, known: np.ndarray):
    """The job: fit the head, score the open images; returns (open rows, HardnessResult)."""
    labeled = np.flatnonzero(known != UNLABELED)
    open_rows = np.flatnonzero(known == UNLABELED)
    transductive = algorithm == "accurate"
    # Labeled rows first, then the open ones: the order the job service uses, so the head's
    # fit and the cross-validation share the cached label-free part of the accurate head.
    if transductive:
        rows = np.concatenate([labeled, open_rows])
        X_train, y_train = data.X[rows], known[rows]
    else:
        X_train, y_train = data.X[labeled], known[labeled]
    head = make_head(algorithm).fit(X_train, y_train)
    result = score_classification_hardness(
        head_factory=lambda: make_head(algorithm),
        X_labeled=data.X[labeled],
        y_labeled=known[labeled],
        X_scored=data.X[open_rows],
        X_scored_flipped=data.X_flip[open_rows],
        X_scored_original=data.X_original[open_rows],
        fitted_head=head,
        unlabeled_for_cv=data.X[open_rows] if transductive else None,
        target_precision=TARGET_PRECISION,
    )
    return open_rows, result


@dataclass
class FirstRound:
    accuracy: float
    seconds: float
    hard_share: float
    not_hard_accuracy: float
    errors_flagged: float
    estimated_not_hard: float
    estimated_accuracy: float
    error_auroc: float  # how well the hard coefficient ranks errors above right predictions
    reason_rates: dict[int, tuple[float, float]] = field(default_factory=dict)


@dataclass
class LoopOutcome:
    effort_saved: float
    residual_error: float
    rounds: int
    touched: float  # share of the dataset a person labeled or checked
    bulk: int


def first_round(result, truth: np.ndarray, seconds: float) -> FirstRound:
    wrong = result.predicted != truth
    hard = result.is_hard
    rates = {}
    for code in (1, 2, 3, 4):
        has = np.array([any(c == code for c, _ in reasons) for reasons in result.reasons])
        rates[code] = (float(has.mean()), float(wrong[has].mean()) if has.any() else math.nan)
    return FirstRound(
        accuracy=float(1 - wrong.mean()),
        seconds=seconds,
        hard_share=float(hard.mean()),
        not_hard_accuracy=float(1 - wrong[~hard].mean()) if (~hard).any() else math.nan,
        errors_flagged=float(hard[wrong].mean()) if wrong.any() else math.nan,
        estimated_not_hard=result.estimated_precision_not_hard,
        estimated_accuracy=result.estimated_accuracy,
        error_auroc=float(roc_auc_score(wrong, result.hard_coefficient))
        if 0 < wrong.sum() < wrong.size
        else math.nan,
        reason_rates=rates,
    )


def run_loop(algorithm: str, data: Embeddings, seed: int, *, loop: bool, diversity: float = 0.0,
             finish: bool = True):
    y = data.y
    n = y.shape[0]
    known = initial_labels(y, SHOTS, seed)
    cost = COST_BY_HAND * np.count_nonzero(known != UNLABELED)
    per_round = math.ceil(CHECK_SHARE * n)
    rounds, first, residual, bulk = 0, None, 0.0, 0
    while True:
        started = time.perf_counter()
        open_rows, result = fit_and_score(algorithm, data, known)
        seconds = time.perf_counter() - started
        truth = y[open_rows]
        if first is None:
            first = first_round(result, truth, seconds)
            if not loop:
                return first, None
        hard = result.is_hard
        if not hard.any() or (finish and np.count_nonzero(hard) <= per_round):
            # The product's estimate: the not-hard predictions are >= the target precision.
            # With ``finish`` the person checks the few hard ones left (one round's work)
            # instead of another retrain, and bulk-confirms the rest.
            wrong = result.predicted != truth
            checked = open_rows[hard]
            cost += COST_CHECK * checked.size + COST_FIX * np.count_nonzero(wrong[hard])
            known[checked] = y[checked]
            residual = float(wrong[~hard].mean()) if (~hard).any() else 0.0
            bulk = int(np.count_nonzero(~hard))
            cost += COST_BULK * bulk
            rounds += int(hard.any())
            break
        rounds += 1
        if diversity > 0:  # hard *and* spread out (ml.query), instead of the hardest only
            order = select_diverse(
                result.hard_coefficient,
                data.X[open_rows],
                n=per_round,
                labeled_embeddings=data.X[known != UNLABELED],
                diversity_weight=diversity,
            ).indices
        else:
            order = np.argsort(-result.hard_coefficient, kind="stable")[:per_round]
        checked = open_rows[order]
        cost += COST_CHECK * checked.size
        cost += COST_FIX * np.count_nonzero(result.predicted[order] != y[checked])
        known[checked] = y[checked]
        if not np.any(known == UNLABELED):
            break
    outcome = LoopOutcome(
        effort_saved=1.0 - cost / (COST_BY_HAND * n),
        residual_error=residual,
        rounds=rounds,
        touched=float(np.mean(known != UNLABELED)),
        bulk=bulk,
    )
    return first, outcome


def upper_bound(algorithm: str, data: Embeddings) -> float:
    """5-fold CV accuracy of the same head trained on all labels (held-out fold unlabeled)."""
    oof = cross_val_proba(make_head(algorithm), data.X, data.y, n_folds=5, random_state=0)
    return float(np.mean(oof.argmax(axis=1) == data.y))


def mean_std(values, scale: float = 100.0, digits: int = 1) -> str:
    values = np.asarray([v for v in values if v == v], dtype=np.float64)
    if values.size == 0:
        return "n/a"
    return f"{values.mean() * scale:.{digits}f} ± {values.std() * scale:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--embeddings", type=Path, default=DEFAULT_EMBEDDINGS)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--skip-loop", action="store_true")
    parser.add_argument(
        "--diversity",
        type=float,
        default=0.0,
        help="pick the checked images with ml.query.select_diverse at this weight (0: hardest)",
    )
    parser.add_argument("--skip-upper-bound", action="store_true")
    parser.add_argument(
        "--no-finish",
        action="store_true",
        help="loop until no image is hard, instead of checking the last hard ones (<= one "
        "round's share) and bulk-confirming the rest",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads (1: measured much faster on the shared 2-core machine)",
    )
    args = parser.parse_args()

    with threadpool_limits(args.threads):
        report(args)


def report(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f}, BLAS threads: {args.threads}")
    accuracy_rows, flag_rows, loop_rows, reason_rows = [], [], [], []
    for name in args.datasets:
        data = load_embeddings(name, args.embeddings, args.data)
        for algorithm in args.algorithms:
            firsts, loops = [], []
            for seed in range(args.seeds):
                first, outcome = run_loop(
                    algorithm, data, seed, loop=not args.skip_loop, diversity=args.diversity,
                    finish=not args.no_finish,
                )
                firsts.append(first)
                if outcome is not None:
                    loops.append(outcome)
                    print(
                        f"  {name} {algorithm} seed {seed}: acc {first.accuracy:.3f} "
                        f"saved {outcome.effort_saved:.3f} residual {outcome.residual_error:.3f}"
                        f" rounds {outcome.rounds}",
                        file=sys.stderr,
                        flush=True,
                    )
            bound = math.nan if args.skip_upper_bound else upper_bound(algorithm, data)
            accuracy_rows.append(
                f"| {name} | {algorithm} | {mean_std([f.accuracy for f in firsts])} | "
                f"{'n/a' if math.isnan(bound) else f'{bound * 100:.1f}'} | "
                f"{np.median([f.seconds for f in firsts]):.1f} s |"
            )
            flag_rows.append(
                f"| {name} | {algorithm} | {mean_std([f.hard_share for f in firsts])} | "
                f"{mean_std([f.not_hard_accuracy for f in firsts])} | "
                f"{mean_std([f.estimated_not_hard for f in firsts])} | "
                f"{mean_std([f.errors_flagged for f in firsts])} | "
                f"{mean_std([f.estimated_accuracy for f in firsts])} | "
                f"{mean_std([f.error_auroc for f in firsts], scale=1.0, digits=2)} |"
            )
            reason_rows.append(
                f"| {name} | {algorithm} | "
                + " | ".join(
                    f"{mean_std([f.reason_rates[c][0] for f in firsts], digits=0)} / "
                    f"{mean_std([f.reason_rates[c][1] for f in firsts], digits=0)}"
                    for c in (1, 2, 3, 4)
                )
                + " |"
            )
            if loops:
                loop_rows.append(
                    f"| {name} | {algorithm} | {mean_std([o.effort_saved for o in loops])} | "
                    f"{mean_std([o.residual_error for o in loops])} | "
                    f"{np.mean([o.rounds for o in loops]):.1f} | "
                    f"{mean_std([o.touched for o in loops])} |"
                )
    print(f"\nK = {SHOTS} labels a class, {args.seeds} seeds (0..{args.seeds - 1}).\n")
    print("| dataset | head | accuracy on the rest, % | all labels, 5-fold CV, % | job time |")
    print("|---|---|---|---|---|")
    print("\n".join(accuracy_rows))
    print("\nHard flags of the first job (target: not-hard precision >= 98%, estimated):\n")
    print(
        "| dataset | head | flagged hard, % | accuracy of not-hard, % | estimated, % | "
        "errors flagged hard, % | estimated accuracy (all), % | AUROC hardness vs error |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(flag_rows))
    print(
        "\nReasons at the first job: share of images with the code / error rate among them (%):\n"
    )
    print(
        "| dataset | head | 1 low confidence | 2 neighbours disagree | 3 far from class | "
        "4 unstable under flip |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(reason_rows))
    if loop_rows:
        print(
            f"\nThe loop (check the hardest {CHECK_SHARE:.0%} a round, stop on the product's "
            "own estimate):\n"
        )
        print(
            "| dataset | head | effort saved, % | residual error of bulk-confirmed, % | "
            "rounds | human-touched, % |"
        )
        print("|---|---|---|---|---|---|")
        print("\n".join(loop_rows))


if __name__ == "__main__":
    main()

"""``DetectorTrainer.fit``: features, cross-validated calibration, training, pseudo-labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelloop.ml.detect._calibration import Calibration, HeldOutImage, calibrate
from labelloop.ml.detect._features import (
    FLIPPED,
    ORIGINAL,
    FeatureStore,
    UnreadableImages,
    View,
    boxes_to_view,
)
from labelloop.ml.detect._validation import check_training_input, choose_input_size
from labelloop.ml.detect.detector import DetectorMeta, TrainedDetector, head_state

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class DetectorSettings:
    input_size: int | None = None  # None: chosen from the labeled boxes (``_validation``)
    steps: int = 300
    batch_size: int = 6
    cv_folds: int = 2
    # Fold models see fewer images, so fewer steps suffice; this keeps calibration cheap.
    cv_steps_fraction: float = 0.67
    # Scales of the training views (flipped and not): 0.7 shows objects smaller, the
    # cheapest scale augmentation with cached features.
    train_scales: tuple[float, ...] = (1.0, 0.7)
    # Pseudo-labels from the unlabeled images: over 3 seeds at K = 5 / 10 / 20 they lowered
    # mean AP50 by 0.02-0.10 on bccd and 0.03-0.07 on playing_cards_voc wherever any were
    # taken (BENCHMARKS.md), so jobs do not use them; kept as an option to re-measure.
    use_unlabeled: bool = False
    max_pseudo_images: int = 200
    pseudo_weight: float = 0.5
    seed: int = 0


class DetectorTrainer:
    """Trains a ``TrainedDetector`` from a few labeled images (see the package docstring).

    ``cache_dir`` holds the exported backbone graph; ``feature_cache_dir`` (optional) keeps
    backbone features per image and view on disk for later jobs.
    """

    def __init__(
        self,
        cache_dir: str | Path,
        *,
        feature_cache_dir: str | Path | None = None,
        settings: DetectorSettings | None = None,
        weights_path: str | Path | None = None,
    ):
        self.cache_dir = cache_dir
        self.feature_cache_dir = feature_cache_dir
        self.settings = settings or DetectorSettings()
        self.weights_path = weights_path

    def fit(
        self,
        images: Sequence[str | Path],
        boxes: Sequence[Sequence[Sequence[float]]],
        n_classes: int,
        *,
        unlabeled: Sequence[str | Path] = (),
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> TrainedDetector:
        from labelloop.ml.detect._inference import candidates_for, torch_runner
        from labelloop.ml.detect._train import TrainSettings, train_head

        settings = self.settings
        paths = [str(p) for p in images]
        probe = FeatureStore(self.cache_dir, 0)
        readable = probe.readable_sizes(paths)
        if len(readable) < len(paths):  # checked below with the boxes of the readable ones
            keep = [i for i, p in enumerate(paths) if p in readable]
            paths, boxes = [paths[i] for i in keep], [boxes[i] for i in keep]
        if not paths:
            raise UnreadableImages(probe.unreadable)
        sizes = [readable[p] for p in paths]
        labeled = check_training_input(paths, boxes, n_classes, sizes)
        size = settings.input_size or choose_input_size(sizes, labeled)
        store = FeatureStore(self.cache_dir, size, feature_cache_dir=self.feature_cache_dir,
                             weights_path=self.weights_path)
        store.unreadable.update(probe.unreadable)
        use_unlabeled = settings.use_unlabeled and len(unlabeled) > 0
        views = [View(flip, scale) for scale in settings.train_scales for flip in (False, True)]
        fold_steps = max(1, int(settings.steps * settings.cv_steps_fraction))
        n_folds = min(settings.cv_folds, len(paths)) if len(paths) >= 2 else 0
        tracker = _Progress(progress, len(paths) * len(views)
                            + n_folds * fold_steps + settings.steps
                            + (2 * len(unlabeled) + settings.steps if use_unlabeled else 0))

        # Labeled images whose pixels do not decode are left out of training (and reported
        # in ``skipped_training``) rather than failing the job; the rest must hold a box.
        kept, first = store.get_readable(paths, views[0], progress=tracker.stage(),
                                         should_cancel=should_cancel)
        tracker.finish_stage(len(paths))
        if len(kept) < len(paths):
            decoded = set(kept)
            keep = [i for i, p in enumerate(paths) if p in decoded]
            if not any(len(labeled[i][1]) for i in keep):
                raise UnreadableImages(store.unreadable)
            paths, sizes, labeled = kept, [sizes[i] for i in keep], [labeled[i] for i in keep]
        training_views = [first]
        for view in views[1:]:
            pyramids = store.get(paths, view, progress=tracker.stage(), should_cancel=should_cancel)
            tracker.finish_stage(len(paths))
            training_views.append(pyramids)
        per_image = [
            [_training_view(training_views[v][i], labeled[i], sizes[i], size, views[v])
             for v in range(len(views))] for i in range(len(paths))
        ]

        def train(members: Sequence[int], steps: int, extra=(), seed_offset=0):
            chosen = [per_image[i] for i in members] + list(extra)
            head = train_head(chosen, n_classes,
                              TrainSettings(steps=steps, batch_size=settings.batch_size,
                                            seed=settings.seed + seed_offset),
                              progress=tracker.step_callback(), should_cancel=should_cancel)
            tracker.finish_stage(steps)
            return head

        held_out: list[HeldOutImage] = []
        folds = np.random.default_rng(settings.seed).permutation(len(paths)) % max(n_folds, 1)
        for fold in range(n_folds):
            inside = np.flatnonzero(folds != fold)
            outside = np.flatnonzero(folds == fold)
            fold_head = train(inside, fold_steps, seed_offset=fold + 1)
            run = torch_runner(fold_head)
            original = candidates_for(run, [training_views[0][i] for i in outside],
                                      [sizes[i] for i in outside], size, ORIGINAL)
            mirrored = candidates_for(run, [training_views[1][i] for i in outside],
                                      [sizes[i] for i in outside], size, FLIPPED)
            held_out += [HeldOutImage(o, m, *labeled[i])
                         for o, m, i in zip(original, mirrored, outside, strict=True)]
        empty_rate = float(np.mean([len(lab) == 0 for _, lab in labeled]))
        long_side = float(np.median([max(s) for s in sizes]))
        calibration = calibrate(held_out, n_classes, empty_rate, long_side)
        head = train(range(len(paths)), settings.steps)
        metrics = dict(calibration.metrics)
        metrics["pseudo_labeled_images"] = 0.0
        if use_unlabeled:
            pseudo = _pseudo_labeled(head, store, [str(p) for p in unlabeled], calibration,
                                     settings, tracker, should_cancel)
            metrics["pseudo_labeled_images"] = float(len(pseudo))
            if pseudo:
                head = train(range(len(paths)), settings.steps, extra=pseudo, seed_offset=99)
        meta = DetectorMeta(
            n_classes=n_classes, input_size=size, head_width=64, platt=calibration.platt,
            stats=calibration.stats, metrics=metrics)
        detector = TrainedDetector(head_state(head), meta, cache_dir=self.cache_dir,
                                   feature_cache_dir=self.feature_cache_dir,
                                   weights_path=self.weights_path, store=store)
        # Labeled images left out because their pixels do not decode: path -> reason.
        detector.skipped_training = {p: store.unreadable[p] for p in map(str, images)
                                     if p in store.unreadable}
        return detector


def _training_view(pyramid, labeled, image_size, input_size, view: View):
    from labelloop.ml.detect._train import TrainingView

    boxes, labels = labeled
    return TrainingView(pyramid, boxes_to_view(boxes, image_size, input_size, view), labels)


def _pseudo_labeled(head, store: FeatureStore, paths: list[str], calibration: Calibration,
                    settings: DetectorSettings, tracker: _Progress,
                    should_cancel: CancelCheck | None) -> list:
    """Unlabeled images as extra training images: boxes the held-out data says are right at
    least ``PSEUDO_LABEL_PRECISION`` of the time; weaker candidates become ignore regions so
    that a possibly real object is not taught as background."""
    from labelloop.ml.detect._inference import candidates_for, torch_runner
    from labelloop.ml.detect._train import TrainingView

    total = len(paths)
    paths, first = store.get_readable(paths, ORIGINAL, progress=tracker.stage(),
                                      should_cancel=should_cancel)
    tracker.finish_stage(total)
    pyramids = {ORIGINAL: first,
                FLIPPED: store.get(paths, FLIPPED, progress=tracker.stage(),
                                   should_cancel=should_cancel)}
    tracker.finish_stage(total)
    sizes = [store.image_size(p) for p in paths]
    found = candidates_for(torch_runner(head), pyramids[ORIGINAL], sizes, store.size, ORIGINAL,
                           score_map=calibration.platt)
    ranked = []
    for index, candidates in enumerate(found):
        sure = candidates.scores >= calibration.pseudo_threshold
        if sure.any():
            ranked.append((-float(candidates.scores[sure].mean()), index, sure))
    ranked.sort(key=lambda item: item[0])
    chosen = []
    for _, index, sure in ranked[:settings.max_pseudo_images]:
        candidates = found[index]
        unsure = (candidates.scores >= calibration.stats.hint_threshold) & ~sure
        chosen.append([
            TrainingView(pyramids[view][index],
                         boxes_to_view(candidates.boxes[sure], sizes[index], store.size, view),
                         candidates.labels[sure],
                         ignore=boxes_to_view(candidates.boxes[unsure], sizes[index],
                                              store.size, view),
                         weight=settings.pseudo_weight)
            for view in (ORIGINAL, FLIPPED)
        ])
    return chosen


class _Progress:
    """Maps stage-local progress onto one done/total for the caller's progress bar."""

    def __init__(self, callback: ProgressCallback | None, total: int):
        self.callback, self.total, self.done = callback, max(total, 1), 0

    def stage(self) -> Callable[[int], None]:
        return lambda n: self._report(self.done + n)

    def step_callback(self) -> Callable[[int, int], None]:
        return lambda n, _total: self._report(self.done + n)

    def finish_stage(self, units: int) -> None:
        self.done += units
        self._report(self.done)

    def _report(self, done: int) -> None:
        if self.callback is not None:
            self.callback(min(done, self.total), self.total)

"""Active learning on a detection dataset: the work of an auto-label job.

Train the few-shot detector on the labeled images (pseudo-labels from the open ones are off:
they lowered AP50 on both benchmark sets, see ``DetectorSettings.use_unlabeled``),
predict boxes on every open image with hard-example types, save the model version, and hand the
predictions to the runner, which publishes them atomically.
"""

from __future__ import annotations

import time

from labelloop.domain import HardReason, HardType, ImageState, Job, LabelloopError, TaskType
from labelloop.storage import datasets_repo, images_repo

from .context import AppContext
from .jobs import ImagePrediction, JobOutcome, ModelToSave, PredictedBox


def run_auto_label(app: AppContext, job: Job, reporter) -> JobOutcome:
    from labelloop.ml.detect import DetectorTrainer  # torch-side code: loaded by the worker only

    started = time.monotonic()
    reporter.stage("loading images")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset(session, job.dataset_id)
        labeled = images_repo.all_images(session, dataset.id, [ImageState.LABELED])
        annotations = images_repo.annotations_for(session, dataset.id, [i.id for i in labeled])
        open_images = images_repo.all_images(
            session, dataset.id, [ImageState.UNLABELED, ImageState.TO_CONFIRM]
        )
    if not open_images:
        raise LabelloopError("the dataset has no unlabeled images to label")
    used = {b.label for a in annotations.values() for b in a.boxes}
    class_names = [name for name in dataset.label_names() if name in used]
    index = {name: i for i, name in enumerate(class_names)}
    train_images = [img for img in labeled if img.id in annotations]
    train_paths = [str(app.blobs.path_for(img.sha256)) for img in train_images]
    train_boxes = [
        [(index[b.label], b.x, b.y, b.w, b.h) for b in annotations[img.id].boxes]
        for img in train_images
    ]
    open_paths = [str(app.blobs.path_for(img.sha256)) for img in open_images]

    feature_dir = app.settings.cache_dir / "detection-features"
    trainer = DetectorTrainer(app.settings.cache_dir / "backbone", feature_cache_dir=feature_dir)
    reporter.stage("training the detector", 1)
    t0 = time.monotonic()
    detector = trainer.fit(
        train_paths,
        train_boxes,
        len(class_names),
        unlabeled=open_paths,
        progress=reporter.update,
        should_cancel=reporter.should_cancel,
    )
    train_seconds = time.monotonic() - t0

    reporter.stage("detecting objects", len(open_paths))
    t0 = time.monotonic()
    results = detector.predict(
        open_paths, progress=reporter.update, should_cancel=reporter.should_cancel
    )
    predict_seconds = time.monotonic() - t0
    from labelloop.ml.detect import prune_feature_cache

    pruned, freed = prune_feature_cache(feature_dir, app.settings.feature_cache_bytes)
    reporter.stage("saving the model")
    folder = app.settings.model_dir / f"job-{job.id}"
    detector.save(folder)

    predictions, failed = [], []
    for image, result in zip(open_images, results, strict=True):
        if result.error:
            failed.append({"image": image.id, "reason": result.error})
            continue
        predictions.append(
            ImagePrediction(
                image_id=image.id,
                boxes=_boxes(result.boxes, result.labels, result.scores, class_names),
                score=float(result.scores.max()) if len(result.scores) else None,
                hard=result.hard,
                hard_type=HardType(result.hard_type),
                hard_coefficient=float(result.hard_coefficient),
                hard_reasons=tuple(HardReason(c, t) for c, t in result.hard_reasons),
                hints=_boxes(
                    result.hint_boxes, result.hint_labels, result.hint_scores, class_names
                ),
            )
        )
    by_type = {t.value: sum(p.hard_type is t for p in predictions) for t in HardType}
    metrics = {
        **{k: _plain(v) for k, v in detector.metrics.items()},
        "labeled_images": len(train_images) - len(detector.skipped_training),
        "predicted_images": len(predictions),
        "boxes_shown": sum(len(p.boxes) for p in predictions),
        "hard_types": by_type,
        "train_seconds": round(train_seconds, 2),
        "predict_seconds": round(predict_seconds, 2),
        "total_seconds": round(time.monotonic() - started, 2),
        "feature_cache_evicted": {"files": pruned, "bytes": freed},
    }
    model = ModelToSave(
        name=f"{dataset.name}-detector",
        task_type=TaskType.DETECTION,
        class_names=class_names,
        metrics={k: _plain(v) for k, v in detector.metrics.items()},
        config={"kind": "detector"},
        path=str(folder),
    )
    by_path = dict(zip(train_paths, train_images, strict=True))
    skipped = [{"image": by_path[path].id, "reason": why}
               for path, why in detector.skipped_training.items()]
    return JobOutcome(
        predictions=predictions, metrics=metrics, model=model,
        result={"failed_images": failed, "skipped_labeled_images": skipped},
    )


def _boxes(boxes, labels, scores, class_names) -> tuple[PredictedBox, ...]:
    return tuple(
        PredictedBox(class_names[int(label)], float(x), float(y), float(w), float(h), float(s))
        for (x, y, w, h), label, s in zip(boxes, labels, scores, strict=True)
    )


def _plain(value):
    """JSON-safe copy of a metric (numpy scalars become floats, rounded)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if isinstance(value, int):  # bool included
        return value
    return round(number, 4) if number == number else None

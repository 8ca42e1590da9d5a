"""Active learning on a classification dataset: the work of an auto-label job.

embed every labeled and open image (cached) -> fit the head of the chosen algorithm (fast:
labeled only; accurate: labeled + open images) -> score the open images and their hardness ->
save the model version -> hand the predictions to the runner, which publishes atomically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from labelloop.domain import HardReason, Image, ImageState, Job, LabelloopError, TaskType
from labelloop.ml.classify import make_head
from labelloop.ml.classify.portable import LinearHead
from labelloop.ml.hard import score_classification_hardness
from labelloop.storage import datasets_repo, images_repo

from .context import AppContext
from .features import embed_images, extractor_for
from .jobs import ImagePrediction, JobOutcome, ModelToSave

UNLABELED = -1


@dataclass
class _JobData:
    dataset_name: str
    class_names: list[str]  # labels that have labeled images, in dataset order
    labeled: list[Image]
    labeled_targets: np.ndarray  # index into class_names, per labeled image
    open: list[Image]  # unlabeled and to-confirm images: what the job predicts


def run_auto_label(app: AppContext, job: Job, reporter) -> JobOutcome:
    started = time.monotonic()
    algorithm = job.params.get("algorithm", "fast")
    reporter.stage("loading images")
    data = _load(app, job.dataset_id)
    if not data.open:
        raise LabelloopError("the dataset has no unlabeled images to label")

    reporter.stage("preparing the backbone")
    extractor = extractor_for(app)
    extractor.embed_array(np.zeros((1, 3, 224, 224), np.float32))  # export/load ONNX once, here
    everything = data.labeled + data.open
    reporter.stage("embedding images", len(everything))
    t0 = time.monotonic()
    embedded = embed_images(
        app,
        everything,
        progress=reporter.update,
        should_cancel=reporter.should_cancel,
        extractor=extractor,
    )
    embed_seconds = time.monotonic() - t0
    rows = {img.id: i for i, img in enumerate(embedded.images)}
    lab = [rows[img.id] for img in data.labeled if img.id in rows]
    lab_targets = np.array(
        [t for img, t in zip(data.labeled, data.labeled_targets, strict=True) if img.id in rows]
    )
    open_images = [img for img in data.open if img.id in rows]
    opn = [rows[img.id] for img in open_images]
    if not opn:
        raise LabelloopError("none of the unlabeled images could be read")
    X = embedded.embeddings
    X_mean_view = (X + embedded.flipped) / 2  # flip averaging: a free test-time augmentation

    reporter.stage(f"training ({algorithm})")
    t0 = time.monotonic()
    X_train, y_train = _training_set(algorithm, X_mean_view, lab, lab_targets, opn)
    head = make_head(algorithm).fit(X_train, y_train)
    hardness = score_classification_hardness(
        head_factory=lambda: make_head(algorithm),
        X_labeled=X_mean_view[lab],
        y_labeled=lab_targets,
        X_scored=X_mean_view[opn],
        X_scored_flipped=embedded.flipped[opn],
        X_scored_original=X[opn],
        fitted_head=head,
        unlabeled_for_cv=X_mean_view[opn] if algorithm == "accurate" else None,
    )
    reporter.check_cancel()
    train_seconds = time.monotonic() - t0

    reporter.stage("saving the model")
    folder = app.settings.model_dir / f"job-{job.id}"
    LinearHead.from_fitted(head, temperature=hardness.temperature).save(folder)

    predictions = [
        ImagePrediction(
            image_id=img.id,
            label=data.class_names[int(hardness.predicted[i])],
            score=float(hardness.confidence[i]),
            hard=bool(hardness.is_hard[i]),
            hard_coefficient=float(hardness.hard_coefficient[i]),
            hard_reasons=tuple(HardReason(code, text) for code, text in hardness.reasons[i]),
        )
        for i, img in enumerate(open_images)
    ]
    metrics = {
        "algorithm": algorithm,
        "labeled_images": len(lab),
        "predicted_images": len(predictions),
        "hard_images": int(hardness.is_hard.sum()),
        "hard_threshold": round(float(hardness.threshold), 4),
        "cv_accuracy": round(float(hardness.cv_accuracy), 4),
        "estimated_accuracy": round(float(hardness.estimated_accuracy), 4),
        "estimated_precision_not_hard": _rounded(hardness.estimated_precision_not_hard),
        "embedded_from_cache": embedded.cache_hits,
        "embedded_now": embedded.computed,
        "embed_seconds": round(embed_seconds, 2),
        "train_seconds": round(train_seconds, 2),
        "total_seconds": round(time.monotonic() - started, 2),
    }
    model = ModelToSave(
        name=f"{data.dataset_name}-classifier",
        task_type=TaskType.CLASSIFICATION,
        class_names=data.class_names,
        metrics={
            k: metrics[k]
            for k in ("algorithm", "labeled_images", "cv_accuracy", "estimated_accuracy")
        },
        config={
            "kind": "linear-head",
            "backbone_id": extractor.backbone_id,
            "preprocess_version": extractor.preprocess_version,
            "flip_average": True,
            # The confidence below which this job flagged a proposal hard (chosen for 98%
            # estimated precision of the rest): pre-labeling with the model, here or exported,
            # flags by it instead of a fixed 0.5.
            "min_top_probability": round(1.0 - float(hardness.threshold), 4),
        },
        path=str(folder),
    )
    result = {"failed_images": [{"image": img.id, "reason": why} for img, why in embedded.failed]}
    return JobOutcome(predictions=predictions, metrics=metrics, result=result, model=model)


def _rounded(value: float) -> float | None:
    return None if value != value else round(float(value), 4)  # NaN when nothing is not hard


def _training_set(algorithm, X, lab, lab_targets, opn):
    if algorithm == "accurate":
        y = np.concatenate([lab_targets, np.full(len(opn), UNLABELED)])
        return X[lab + opn], y
    return X[lab], lab_targets


def _load(app: AppContext, dataset_id: int) -> _JobData:
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset(session, dataset_id)
        labeled = images_repo.all_images(session, dataset_id, [ImageState.LABELED])
        annotations = images_repo.annotations_for(session, dataset_id, [i.id for i in labeled])
        open_images = images_repo.all_images(
            session, dataset_id, [ImageState.UNLABELED, ImageState.TO_CONFIRM]
        )
    used = {a.label for a in annotations.values() if a.label is not None}
    class_names = [name for name in dataset.label_names() if name in used]
    index = {name: i for i, name in enumerate(class_names)}
    kept = [img for img in labeled if annotations.get(img.id) and annotations[img.id].label]
    targets = np.array([index[annotations[img.id].label] for img in kept], dtype=np.int64)
    return _JobData(dataset.name, class_names, kept, targets, open_images)

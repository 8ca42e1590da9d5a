"""Pre-labeling with a registered model: the work of a pre-label job (design sections 1 and 5).

load the pinned model version -> map its classes to the dataset's labels -> predict every
unlabeled and to-confirm image (ONNX Runtime, the trained head, or the remote endpoint) ->
flag hard examples from the model's confidence (``ml.runtime.confidence``) -> hand the
predictions to the runner, which publishes them atomically. Any failure of the model (down,
too slow, malformed answer, broken file) fails the job and publishes nothing.

What the mapping cannot place is reported in the job's result, never dropped silently:
classes that map to no label, labels no class maps to, images whose answer names only
unmapped classes (left unlabeled), boxes of unmapped classes (counted per class), and images
whose best class is unmapped (their best mapped label is proposed, flagged hard).
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from labelloop.domain import (
    Dataset,
    HardReason,
    HardType,
    ImageState,
    Job,
    LabelloopError,
    TaskType,
)
from labelloop.ml.runtime.confidence import (
    HARD_THRESHOLD,
    HINT_THRESHOLD,
    LOW_CONFIDENCE,
    MIN_MARGIN,
    MIN_TOP_PROBABILITY,
    SHOW_THRESHOLD,
    classification_hardness,
    detection_hardness,
)
from labelloop.storage import datasets_repo, images_repo, models_repo

from .context import AppContext
from .jobs import ImagePrediction, JobOutcome, PredictedBox
from .label_mapping import LabelMapping
from .model_runners import ModelAnswer, predictor_for
from .prelabel_checks import mapping_for

LISTED_IMAGES = 50  # image lists in the result are cut here; counts are always complete


def run_prelabel(app: AppContext, job: Job, reporter) -> JobOutcome:
    started = time.monotonic()
    reporter.stage("loading the model")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset(session, job.dataset_id)
        model = models_repo.get_model(session, str(job.params.get("model", "")))
        images = images_repo.all_images(
            session, dataset.id, [ImageState.UNLABELED, ImageState.TO_CONFIRM]
        )
    if job.params.get("model_id") not in (None, model.id):
        raise LabelloopError(f"model {model.ref} was deleted and registered again; start anew")
    mapping = mapping_for(model, dataset, job.params.get("map"))
    if not images:
        raise LabelloopError("the dataset has no unlabeled or to-confirm images to pre-label")
    predictor = predictor_for(app, model)

    reporter.stage("predicting", len(images))
    t0 = time.monotonic()
    output = predictor.predict(
        images, progress=reporter.update, should_cancel=reporter.should_cancel
    )
    predict_seconds = time.monotonic() - t0
    reporter.stage("flagging hard examples")
    if dataset.task_type is TaskType.CLASSIFICATION:
        converted = _classification(
            output.answers, mapping, dataset, model.class_names, _min_top(model.config)
        )
    else:
        converted = _detection(
            output.answers, mapping, _thresholds(model.config), model.class_names
        )
    predictions, report = converted
    if not predictions:
        why = output.failed[0][1] if output.failed else "no answer named a mapped class"
        raise LabelloopError(f"no image could be pre-labeled ({why})")
    reporter.check_cancel()

    hard = sum(p.hard for p in predictions)
    metrics = {
        "model": model.ref,
        "source": model.source.value,
        "images": len(images),
        "predicted_images": len(predictions),
        "hard_images": hard,
        "predict_seconds": round(predict_seconds, 2),
        "images_per_second": round(len(images) / predict_seconds, 1) if predict_seconds else None,
        "total_seconds": round(time.monotonic() - started, 2),
        **output.stats,
    }
    result = {
        "model": model.ref,
        **mapping.to_dict(),
        **report,
        "failed_images": _listed([{"image": i, "reason": why} for i, why in output.failed]),
        "failed_count": len(output.failed),
        "hard_rule": _hard_rule(dataset.task_type, model.config),
    }
    if output.model_versions:
        result["remote_model_versions"] = output.model_versions
    return JobOutcome(predictions, metrics=metrics, result=result, model_version=model.ref)


# -- classification ------------------------------------------------------------------------


def _min_top(config: dict) -> float:
    """The confidence floor of the hard flag: the one the model's own job chose (trained here,
    or exported from here and registered back), else MIN_TOP_PROBABILITY."""
    value = config.get("min_top_probability")
    if isinstance(value, int | float) and 0.0 <= value <= 1.0:
        return float(value)
    return MIN_TOP_PROBABILITY


def _classification(
    answers: list[ModelAnswer],
    mapping: LabelMapping,
    dataset: Dataset,
    class_names,
    min_top_probability: float = MIN_TOP_PROBABILITY,
) -> tuple[list[ImagePrediction], dict]:
    labels = dataset.label_names()
    column = {label: j for j, label in enumerate(labels)}
    rows, kept, top_unmapped = [], [], []
    unanswered, unplaced = [], Counter()
    answered_unknown = Counter()  # classes a remote model answered that it never declared
    for answer in answers:
        if not answer.classes:
            unanswered.append(answer.image_id)
            continue
        row = np.zeros(len(labels))
        mapped = [(mapping.to_label[c], s) for c, s in answer.classes if c in mapping.to_label]
        for cls, _ in answer.classes:
            if cls not in class_names:
                answered_unknown[cls] += 1
        if not mapped:
            unplaced[answer.classes[0][0]] += 1
            continue
        for label, score in mapped:
            row[column[label]] += score if score is not None else 0.0
        best_class = answer.classes[0][0]
        top_unmapped.append(best_class if best_class not in mapping.to_label else None)
        if mapped[0][1] is None:
            # No score: keep the model's choice (inf wins the argmax below) and make the whole
            # row unknown (NaN) for the hardness rule, which flags it hard.
            row[:] = np.nan
            row[column[mapped[0][0]]] = np.inf
        rows.append(row)
        kept.append(answer.image_id)
    predictions = []
    if rows:
        scores = np.vstack(rows)
        choice = np.argmax(np.nan_to_num(scores, nan=-1.0), axis=1)
        scores[np.isinf(scores)] = np.nan
        hardness = classification_hardness(scores, min_top_probability=min_top_probability)
        for i, image_id in enumerate(kept):
            reasons = [HardReason(code, text) for code, text in hardness.reasons[i]]
            hard = bool(hardness.hard[i])
            if top_unmapped[i] is not None:
                hard = True
                reasons.append(
                    HardReason(
                        LOW_CONFIDENCE,
                        f"the model's best class {top_unmapped[i]!r} maps to no dataset label",
                    )
                )
            score = scores[i, choice[i]]
            predictions.append(
                ImagePrediction(
                    image_id=image_id,
                    label=labels[int(choice[i])],
                    score=None if np.isnan(score) else float(score),
                    hard=hard,
                    hard_coefficient=float(hardness.coefficient[i]),
                    hard_reasons=tuple(reasons),
                )
            )
    report = {
        "images_best_class_unmapped": dict(Counter(c for c in top_unmapped if c is not None)),
        "images_left_unlabeled": {
            "no_answer": _listed(unanswered),
            "no_answer_count": len(unanswered),
            "only_unmapped_classes": dict(unplaced),
        },
        "answered_undeclared_classes": dict(answered_unknown),
    }
    return predictions, report


# -- detection -----------------------------------------------------------------------------


def _thresholds(config: dict) -> dict:
    """The detection rule's thresholds: the defaults, or scaled from the model's own show
    threshold (an exported labelloop detector carries the one its cross-validation chose)."""
    show = config.get("show_threshold")
    if not isinstance(show, int | float) or not 0.0 < show < 1.0:
        return {}
    return {
        "show_threshold": float(show),
        "hint_threshold": float(show) / 2,
        # Hard from what one proposed box scoring show + 40% of the way to 1 gives (0.5 -> 0.7,
        # hardness 0.3, as by default).
        "hard_threshold": (1.0 - float(show)) * 0.6,
    }


def _detection(
    answers: list[ModelAnswer], mapping: LabelMapping, thresholds: dict, class_names
) -> tuple[list[ImagePrediction], dict]:
    dropped = Counter()
    answered_unknown = Counter()  # boxes of classes a remote model answered, never declared
    declared = set(class_names)
    predictions = []
    for answer in answers:
        answered_unknown.update(b[0] for b in answer.boxes if b[0] not in declared)
        boxes = _mapped(answer.boxes, mapping, dropped)
        if answer.judged is not None:  # the model typed its own hard examples
            judged = answer.judged
            predictions.append(
                ImagePrediction(
                    image_id=answer.image_id,
                    boxes=tuple(_box(b) for b in boxes),
                    hard=judged.hard_type != HardType.NONE.value,
                    hard_type=HardType(judged.hard_type),
                    hard_coefficient=judged.coefficient,
                    hard_reasons=tuple(HardReason(c, t) for c, t in judged.reasons),
                    hints=tuple(_box(b) for b in _mapped(judged.hints, mapping, Counter())),
                )
            )
            continue
        xyxy = np.array([(x, y, x + w, y + h) for _, x, y, w, h, _ in boxes]).reshape(-1, 4)
        scores = np.array([np.nan if b[5] is None else b[5] for b in boxes], dtype=np.float64)
        hardness = detection_hardness(xyxy, scores, [b[0] for b in boxes], **thresholds)
        shown = [_box(b) for b, keep in zip(boxes, hardness.shown, strict=True) if keep]
        hints = [_box(b) for b, keep in zip(boxes, hardness.hints, strict=True) if keep]
        predictions.append(
            ImagePrediction(
                image_id=answer.image_id,
                boxes=tuple(shown),
                hard=hardness.hard,
                hard_type=HardType(hardness.hard_type),
                hard_coefficient=hardness.coefficient,
                hard_reasons=tuple(HardReason(code, text) for code, text in hardness.reasons),
                hints=tuple(hints),
            )
        )
    report = {
        "boxes_of_unmapped_classes": dict(dropped),
        "answered_undeclared_classes": dict(answered_unknown),
    }
    return predictions, report


def _mapped(boxes, mapping: LabelMapping, dropped: Counter) -> list:
    """Boxes renamed to dataset labels; those of unmapped classes are counted in ``dropped``."""
    kept = []
    for cls, x, y, w, h, score in boxes:
        if cls not in mapping.to_label:
            dropped[cls] += 1
        elif w > 0 and h > 0:
            kept.append((mapping.to_label[cls], x, y, w, h, score))
    return kept


def _box(box) -> PredictedBox:
    label, x, y, w, h, score = box
    # A box the model gave without a score is stored at 0: its confidence is unknown, and the
    # image is flagged false_detection ("a proposed box has no score") for a person to check.
    return PredictedBox(
        label, float(x), float(y), float(w), float(h), 0.0 if score is None else float(score)
    )


def _hard_rule(task_type: TaskType, config: dict) -> dict:
    if task_type is TaskType.CLASSIFICATION:
        return {"min_top_probability": _min_top(config), "min_margin": MIN_MARGIN}
    if config.get("kind") == "detector":
        return {"by": "the trained detector (calibrated scores, mirrored view)"}
    return {
        "by": "active learning's false/missed typing on the model's scores",
        "show_threshold": SHOW_THRESHOLD,
        "hint_threshold": HINT_THRESHOLD,
        "hard_threshold": HARD_THRESHOLD,
        **_thresholds(config),
    }


def _listed(items: list) -> list:
    return items[:LISTED_IMAGES]

"""Manual labeling and the confirm / reject steps of the labeling loop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from labelloop.domain import (
    Annotation,
    Box,
    Image,
    ImageState,
    InvalidInput,
    TaskType,
    WrongTaskType,
)
from labelloop.domain.rules import check_box
from labelloop.domain.states import Action, next_state
from labelloop.storage import datasets_repo, images_repo

from .context import AppContext


@dataclass
class BatchResult:
    changed: list[int] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (image ref, reason)

    def to_dict(self) -> dict:
        return {
            "changed": len(self.changed),
            "image_ids": self.changed,
            "skipped": [{"image": ref, "reason": why} for ref, why in self.skipped],
        }


def annotate(
    app: AppContext,
    dataset_name: str,
    image_ref: str,
    *,
    label: str | None = None,
    boxes: Sequence[Box] | None = None,
    expected_version: int | None = None,
    annotated_by: str = "human",
) -> Annotation:
    """Set the annotation of one image (replacing any), making it labeled.

    Classification takes ``label``; detection takes the complete list of ``boxes`` (an empty
    list means "no objects in this image"). ``expected_version`` enables optimistic concurrency.
    """
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        image = images_repo.resolve_image(session, dataset.id, image_ref)
        ids = datasets_repo.label_ids(session, dataset.id)
        if dataset.task_type is TaskType.CLASSIFICATION:
            if boxes:
                raise WrongTaskType(f"{dataset.name!r} is a classification dataset: give a label")
            if label is None:
                raise InvalidInput("give the image's label")
            _known(label, ids, dataset.name)
            label_id, box_rows = ids[label], []
        else:
            if label is not None:
                raise WrongTaskType(f"{dataset.name!r} is a detection dataset: give boxes")
            if boxes is None:
                raise InvalidInput("give the image's boxes (an empty list when it has no objects)")
            checked = [check_box(b, image.width, image.height) for b in boxes]
            for b in checked:
                _known(b.label, ids, dataset.name)
            label_id = None
            box_rows = [(ids[b.label], b.x, b.y, b.w, b.h) for b in checked]
        state = next_state(image.state, Action.ANNOTATE)
        images_repo.set_annotation(
            session,
            image.id,
            label_id=label_id,
            boxes=box_rows,
            annotated_by=annotated_by,
            expected_version=expected_version,
        )
        images_repo.delete_predictions(session, [image.id])
        images_repo.set_state(session, [image.id], state)
        return images_repo.annotations_for(session, dataset.id, [image.id])[image.id]


def _known(label: str, ids: dict[str, int], dataset: str) -> None:
    if label not in ids:
        raise InvalidInput(
            f"label {label!r} is not a label of dataset {dataset!r}; add it to the dataset "
            f"first (the dataset's labels, or `labelloop label add {dataset} {label!r}`)"
        )


def confirm(
    app: AppContext,
    dataset_name: str,
    *,
    images: Sequence[str] | None = None,
    all_not_hard: bool = False,
    hard_type: str | None = None,
    everything: bool = False,
) -> BatchResult:
    """Accept predictions as they are: to_confirm -> labeled, in one transaction.

    Exactly one selector: explicit ``images``, ``all_not_hard`` (classification: not hard;
    detection: hard type none), or ``everything`` to confirm.
    """
    chosen = sum([images is not None, all_not_hard, everything])
    if chosen != 1:
        raise InvalidInput("choose exactly one of: images, all not hard, all")
    result = BatchResult()
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        if images is not None:
            ids = _resolve_in_state(session, dataset.id, images, ImageState.TO_CONFIRM, result)
        else:
            ids = images_repo.to_confirm_ids(
                session, dataset.id, hard=False if all_not_hard else None
            )
        confirm_in_session(session, dataset, ids, result)
    return result


def confirm_in_session(
    session,
    dataset,
    ids: Sequence[int],
    result: BatchResult,
    corrections: dict[int, tuple[int | None, list]] | None = None,
) -> None:
    """Annotate to_confirm images ``ids`` as predicted, or as ``corrections`` (image id ->
    (label id, boxes)) say, and move them to labeled, in the caller's transaction. The one
    place a confirmation is written, for the CLI's confirm and the review API alike."""
    corrections = corrections or {}
    predictions = images_repo.predictions_for(
        session, dataset.id, [i for i in ids if i not in corrections]
    )
    label_ids = datasets_repo.label_ids(session, dataset.id)
    confirmed = []
    for image_id in ids:
        if image_id in corrections:
            label_id, boxes = corrections[image_id]
        else:
            prediction = predictions.get(image_id)
            if prediction is None or (
                dataset.task_type is TaskType.CLASSIFICATION and prediction.label is None
            ):
                result.skipped.append((str(image_id), "has no prediction to confirm"))
                continue
            if dataset.task_type is TaskType.CLASSIFICATION:
                label_id, boxes = label_ids[prediction.label], []
            else:
                label_id = None
                boxes = [(label_ids[b.label], b.x, b.y, b.w, b.h) for b in prediction.boxes]
        images_repo.set_annotation(
            session, image_id, label_id=label_id, boxes=boxes, annotated_by="human"
        )
        confirmed.append(image_id)
    images_repo.delete_predictions(session, confirmed)
    images_repo.set_state(session, confirmed, ImageState.LABELED)
    result.changed = confirmed


def reject(app: AppContext, dataset_name: str, images: Sequence[str]) -> BatchResult:
    """Drop predictions: to_confirm -> unlabeled."""
    result = BatchResult()
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        ids = _resolve_in_state(session, dataset.id, images, ImageState.TO_CONFIRM, result)
        images_repo.delete_predictions(session, ids)
        images_repo.set_state(session, ids, ImageState.UNLABELED)
        result.changed = ids
    return result


def clear(app: AppContext, dataset_name: str, images: Sequence[str]) -> BatchResult:
    """Remove a person's label: labeled -> unlabeled."""
    result = BatchResult()
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        ids = _resolve_in_state(session, dataset.id, images, ImageState.LABELED, result)
        for image_id in ids:
            images_repo.delete_annotation(session, image_id)
        images_repo.set_state(session, ids, ImageState.UNLABELED)
        result.changed = ids
    return result


def _resolve_in_state(
    session, dataset_id: int, refs: Sequence[str], state: ImageState, result: BatchResult
) -> list[int]:
    if not refs:
        raise InvalidInput("give at least one image")
    ids: list[int] = []
    for ref in refs:
        image: Image = images_repo.resolve_image(session, dataset_id, str(ref))
        if image.state is not state:
            result.skipped.append((str(ref), f"is {image.state.value}, not {state.value}"))
            continue
        if image.id not in ids:
            ids.append(image.id)
    return ids

"""Confirming many proposals at once, some of them corrected: the review step of the web UI.

``annotating.confirm`` accepts predictions as they are; a reviewer also fixes a few of the
images they confirm (a wrong label, a missing box). Both happen here in ONE transaction, so a
bad correction (unknown label, box outside the image) confirms nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from labelloop.domain import Box, ImageState, InvalidInput, TaskType, WrongTaskType
from labelloop.domain.rules import check_box
from labelloop.storage import datasets_repo, images_repo

from .annotating import BatchResult
from .context import AppContext


@dataclass(frozen=True)
class Correction:
    """What the reviewer says an image shows instead of the proposal."""

    image_id: int
    label: str | None = None  # classification
    boxes: tuple[Box, ...] | None = None  # detection: the complete list (empty: no objects)


def confirm_reviewed(
    app: AppContext,
    dataset_name: str,
    image_ids: Sequence[int],
    corrections: Sequence[Correction] = (),
) -> BatchResult:
    """to_confirm -> labeled for ``image_ids`` and every corrected image.

    A corrected image is stored with the reviewer's label or boxes, the others with their
    prediction. Images not waiting for confirmation are skipped and reported.
    """
    by_image = {c.image_id: c for c in corrections}
    if len(by_image) != len(corrections):
        raise InvalidInput("give at most one correction per image")
    wanted = list(dict.fromkeys([*image_ids, *by_image]))
    if not wanted:
        raise InvalidInput("give at least one image to confirm")
    result = BatchResult()
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        label_ids = datasets_repo.label_ids(session, dataset.id)
        images = {}
        for image_id in wanted:
            image = images_repo.get_image(session, image_id, dataset.id)
            if image.state is not ImageState.TO_CONFIRM:
                reason = f"is {image.state.value}, not {ImageState.TO_CONFIRM.value}"
                result.skipped.append((str(image_id), reason))
                continue
            images[image_id] = image
        predictions = images_repo.predictions_for(session, dataset.id, list(images))
        confirmed = []
        for image_id, image in images.items():
            correction = by_image.get(image_id)
            if correction is not None:
                label_id, boxes = _corrected(dataset, correction, image, label_ids)
            elif _confirmable(dataset, predictions.get(image_id)):
                label_id, boxes = _predicted(dataset, predictions[image_id], label_ids)
            else:
                result.skipped.append((str(image_id), "has no prediction to confirm"))
                continue
            images_repo.set_annotation(
                session, image_id, label_id=label_id, boxes=boxes, annotated_by="human"
            )
            confirmed.append(image_id)
        images_repo.delete_predictions(session, confirmed)
        images_repo.set_state(session, confirmed, ImageState.LABELED)
        result.changed = confirmed
    return result


def _corrected(dataset, correction: Correction, image, label_ids: dict[str, int]):
    where = f"correction of image {correction.image_id}"
    if dataset.task_type is TaskType.CLASSIFICATION:
        if correction.boxes:
            raise WrongTaskType(f"{where}: {dataset.name!r} is a classification dataset")
        if correction.label is None:
            raise InvalidInput(f"{where}: give the image's label")
        return _label_id(correction.label, label_ids, where), []
    if correction.label is not None:
        raise WrongTaskType(f"{where}: {dataset.name!r} is a detection dataset: give boxes")
    if correction.boxes is None:
        raise InvalidInput(f"{where}: give the image's boxes (an empty list for no objects)")
    boxes = []
    for box in correction.boxes:
        checked = check_box(box, image.width, image.height)
        boxes.append(
            (_label_id(checked.label, label_ids, where), checked.x, checked.y, checked.w, checked.h)
        )
    return None, boxes


def _confirmable(dataset, prediction) -> bool:
    if prediction is None:
        return False
    return dataset.task_type is TaskType.DETECTION or prediction.label is not None


def _predicted(dataset, prediction, label_ids: dict[str, int]):
    if dataset.task_type is TaskType.CLASSIFICATION:
        return label_ids[prediction.label], []
    return None, [(label_ids[b.label], b.x, b.y, b.w, b.h) for b in prediction.boxes]


def _label_id(name: str, label_ids: dict[str, int], where: str) -> int:
    if name not in label_ids:
        raise InvalidInput(f"{where}: {name!r} is not a label of this dataset")
    return label_ids[name]

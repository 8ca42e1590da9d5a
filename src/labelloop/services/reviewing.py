"""Confirming many proposals at once, some of them corrected: the review step of the web UI.

``annotating.confirm`` accepts predictions as they are; a reviewer also fixes a few of the
images they confirm (a wrong label, a missing box). Both happen here in ONE transaction, so a
bad correction (unknown label, box outside the image) confirms nothing.

``confirm_matching`` confirms every proposal matching the filters a reviewer has on screen
(label, hard flag or type, score range), so "select all not hard" under a label filter never
confirms images of other labels. ``unconfirm`` undoes one confirmation: the image goes back to
``to_confirm`` with its proposal, unless its annotation changed since. ``restore_proposal``
undoes one rejection: the proposal comes back while the image is still unlabeled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from labelloop.domain import (
    Box,
    Conflict,
    HardType,
    ImageState,
    InvalidInput,
    InvalidTransition,
    NotFound,
    Prediction,
    TaskType,
    WrongTaskType,
)
from labelloop.domain.rules import check_box
from labelloop.domain.states import Action, next_state
from labelloop.storage import datasets_repo, images_repo, jobs_repo

from .annotating import BatchResult, confirm_in_session
from .context import AppContext
from .jobs import prediction_row


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
        images = {}
        for image_id in wanted:
            image = images_repo.get_image(session, image_id, dataset.id)
            if image.state is not ImageState.TO_CONFIRM:
                reason = f"is {image.state.value}, not {ImageState.TO_CONFIRM.value}"
                result.skipped.append((str(image_id), reason))
                continue
            images[image_id] = image
        _confirm(session, dataset, images, by_image, result)
    return result


@dataclass(frozen=True)
class ReviewFilter:
    """The filters of the "To be confirmed" grid; None means "any"."""

    label: str | None = None
    hard: bool | None = None
    hard_type: str | None = None
    min_score: float | None = None
    max_score: float | None = None


_ID_PAGE = 1000


def confirm_matching(
    app: AppContext,
    dataset_name: str,
    *,
    not_hard_only: bool,
    where: ReviewFilter | None = None,
) -> BatchResult:
    """to_confirm -> labeled, as predicted, for every proposal matching ``where`` (and not
    flagged hard when ``not_hard_only``), in one transaction.

    The filters mean what they mean on the images page: ``label`` is the predicted label (or a
    label of a predicted box), the score bounds apply to the prediction's score.
    """
    where = where or ReviewFilter()
    result = BatchResult()
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        label_id = None
        if where.label is not None:
            label_id = datasets_repo.label_ids(session, dataset.id).get(where.label)
            if label_id is None:
                raise InvalidInput(f"label {where.label!r} is not a label of {dataset.name!r}")
        hard = where.hard
        if not_hard_only:
            if hard is True:  # "hard" and "not hard" at once: nothing matches
                return result
            hard = False
        hard_type = None
        if where.hard_type is not None:
            try:
                hard_type = HardType(where.hard_type)
            except ValueError:
                choices = ", ".join(t.value for t in HardType)
                raise InvalidInput(
                    f"hard_type {where.hard_type!r} is not one of: {choices}"
                ) from None
        flt = images_repo.ImageFilter(
            state=ImageState.TO_CONFIRM,
            label_id=label_id,
            hard=hard,
            hard_type=hard_type,
            min_score=where.min_score,
            max_score=where.max_score,
        )
        images = {}
        after = 0
        while True:
            page = images_repo.page_images(session, dataset.id, flt, after_id=after, limit=_ID_PAGE)
            images.update((image.id, image) for image in page)
            if len(page) < _ID_PAGE:
                break
            after = page[-1].id
        _confirm(session, dataset, images, {}, result)
    return result


def _confirm(session, dataset, images: dict, by_image: dict, result: BatchResult) -> None:
    """Store the annotations of ``images`` (all to_confirm) and move them to labeled."""
    label_ids = datasets_repo.label_ids(session, dataset.id)
    corrections = {
        image_id: _corrected(dataset, correction, images[image_id], label_ids)
        for image_id, correction in by_image.items()
        if image_id in images
    }
    confirm_in_session(session, dataset, list(images), result, corrections)


def unconfirm(
    app: AppContext,
    dataset_name: str,
    image_id: int,
    *,
    expected_version: int,
    proposal: Prediction,
) -> None:
    """Undo a confirmation: labeled -> to_confirm, with ``proposal`` as its prediction again.

    A confirmation deletes the prediction row (storage keeps only unconfirmed proposals), so the
    caller hands back the proposal it showed; it is checked like a published one (known labels,
    boxes inside the image). ``expected_version`` is the annotation version the confirmation
    wrote: if somebody changed the annotation since, Conflict, and the image stays labeled.
    """
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        image = images_repo.get_image(session, image_id, dataset.id)
        if image.state is not ImageState.LABELED:
            raise InvalidTransition(
                f"image {image_id} is {image.state.value}, not labeled: "
                "there is no confirmation to undo"
            )
        next_state(image.state, Action.UNCONFIRM)  # labeled -> to_confirm, per the state machine
        annotation = images_repo.annotations_for(session, dataset.id, [image_id]).get(image_id)
        if annotation is None or annotation.version != expected_version:
            seen = annotation.version if annotation is not None else "none"
            raise Conflict(
                f"image {image_id} was changed since it was confirmed (annotation version "
                f"{seen}, confirmed as version {expected_version}); it stays labeled"
            )
        label_ids = datasets_repo.label_ids(session, dataset.id)
        row = _proposal_row(session, dataset, image, proposal, label_ids)
        images_repo.delete_annotation(session, image_id)
        images_repo.set_state(session, [image_id], ImageState.UNLABELED)
        images_repo.publish_predictions(
            session, dataset.id, row.job_id, proposal.model_version, [row.prediction]
        )


def restore_proposal(
    app: AppContext, dataset_name: str, image_id: int, proposal: Prediction
) -> None:
    """Undo a rejection: unlabeled -> to_confirm, with ``proposal`` as its prediction again.

    A rejection deletes the prediction row, so the caller hands back the proposal it showed;
    it is checked like a published one (known labels, boxes inside the image). Only an image
    that is still unlabeled gets it back: one labeled since keeps its label, one with a newer
    proposal keeps that one (InvalidTransition, nothing changes).
    """
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        image = images_repo.get_image(session, image_id, dataset.id)
        if image.state is not ImageState.UNLABELED:
            why = (
                "it was labeled since and keeps its label"
                if image.state is ImageState.LABELED
                else "it has a newer proposal, which stays"
            )
            raise InvalidTransition(
                f"image {image_id} is {image.state.value}, not unlabeled: the rejected proposal "
                f"cannot come back ({why})"
            )
        next_state(image.state, Action.PUBLISH)  # unlabeled -> to_confirm, per the state machine
        label_ids = datasets_repo.label_ids(session, dataset.id)
        row = _proposal_row(session, dataset, image, proposal, label_ids)
        images_repo.publish_predictions(
            session, dataset.id, row.job_id, proposal.model_version, [row.prediction]
        )


@dataclass(frozen=True)
class _ProposalRow:
    prediction: images_repo.NewPrediction
    job_id: int | None


def _proposal_row(session, dataset, image, p: Prediction, label_ids) -> _ProposalRow:
    where = f"proposal of image {image.id}"
    if dataset.task_type is TaskType.CLASSIFICATION:
        if p.label is None or p.boxes:
            raise WrongTaskType(f"{where}: a classification proposal has a label and no boxes")
        if p.hard_type is not None:
            raise WrongTaskType(f"{where}: hard_type is for detection proposals")
    elif p.label is not None:
        raise WrongTaskType(f"{where}: a detection proposal has boxes, not a label")
    for name, value in (("score", p.score), ("hard_coefficient", p.hard_coefficient)):
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            raise InvalidInput(f"{where}: {name} {value} is not between 0 and 1")
    if p.label is not None:
        _label_id(p.label, label_ids, where)
    boxes = tuple(_inside(b, image, where) for b in p.boxes)
    hints = tuple(_inside(b, image, where) for b in p.hints)
    for box in (*boxes, *hints):
        _label_id(box.label, label_ids, where)
        _score(box, where)
    job_id = p.job_id
    if job_id is not None:
        try:
            job = jobs_repo.get_job(session, job_id)
        except NotFound:
            job_id = None  # the job was deleted since; the proposal stands without it
        else:
            if job.dataset_id != dataset.id:
                raise InvalidInput(f"{where}: job {job_id} is not a job of this dataset")
    checked = replace(p, image_id=image.id, boxes=boxes, hints=hints)
    row = prediction_row(checked, label_ids)  # the row a job would publish
    return _ProposalRow(row, job_id)


def _inside(box: Box, image, where: str) -> Box:
    """A model's box: finite, not empty, inside the image (sub-pixel overshoot allowed)."""
    values = (box.x, box.y, box.w, box.h)
    tolerance = 0.5
    if (
        not all(math.isfinite(v) for v in values)
        or box.w <= 0
        or box.h <= 0
        or box.x < -tolerance
        or box.y < -tolerance
        or box.x + box.w > image.width + tolerance
        or box.y + box.h > image.height + tolerance
    ):
        raise InvalidInput(f"{where}: box {values} is empty or outside the image")
    return box


def _score(box: Box, where: str) -> float | None:
    if box.score is not None and not (math.isfinite(box.score) and 0 <= box.score <= 1):
        raise InvalidInput(f"{where}: box score {box.score} is not between 0 and 1")
    return box.score


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

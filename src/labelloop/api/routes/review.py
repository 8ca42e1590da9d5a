"""The review step: confirm proposals (many at once, some corrected), undo a confirmation,
reject them (and undo a rejection), and what to label next."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelloop.domain import InvalidInput
from labelloop.services import annotating, browsing, reviewing

from ..deps import Context, DatasetInPath
from ..schemas import (
    BatchOut,
    ConfirmRequest,
    ImageOut,
    NextOut,
    RejectRequest,
    RestoreProposalRequest,
    UnconfirmRequest,
)

router = APIRouter(prefix="/datasets/{dataset_id}", tags=["review"])


@router.post("/confirm", response_model=BatchOut)
def confirm(dataset: DatasetInPath, ctx: Context, body: ConfirmRequest) -> BatchOut:
    """Accept predictions: to_confirm -> labeled, in one transaction.

    Choose the images by ``image_ids`` (as predicted) and ``corrections`` (with the label or
    boxes given), or by ``all_not_hard`` or ``all``; with ``filters``, only the proposals
    matching them (label, hard, hard_type, score range) are confirmed. Images not waiting for
    confirmation are listed under ``skipped``.
    """
    explicit = bool(body.image_ids or body.corrections)
    if sum([explicit, body.all_not_hard, body.all]) != 1:
        raise InvalidInput("choose exactly one of: image_ids/corrections, all_not_hard, all")
    if explicit and body.filters is not None:
        raise InvalidInput("filters choose images for all_not_hard or all; not with image_ids")
    if body.filters is not None:
        where = reviewing.ReviewFilter(**body.filters.model_dump())
        result = reviewing.confirm_matching(
            ctx, dataset.name, not_hard_only=body.all_not_hard, where=where
        )
        return BatchOut.model_validate(result.to_dict())
    if explicit:
        corrections = [
            reviewing.Correction(
                image_id=c.image_id,
                label=c.label,
                boxes=tuple(b.to_box() for b in c.boxes) if c.boxes is not None else None,
            )
            for c in body.corrections
        ]
        result = reviewing.confirm_reviewed(ctx, dataset.name, body.image_ids, corrections)
    else:
        result = annotating.confirm(
            ctx, dataset.name, all_not_hard=body.all_not_hard, everything=body.all
        )
    return BatchOut.model_validate(result.to_dict())


@router.post("/images/{image_id}/unconfirm", response_model=ImageOut)
def unconfirm(
    dataset: DatasetInPath, ctx: Context, image_id: int, body: UnconfirmRequest
) -> ImageOut:
    """Undo a confirmation: labeled -> to_confirm with the proposal sent back.

    Send the annotation ``version`` the confirmation answered with and the ``prediction`` shown
    before it. 409 when the image is no longer labeled, or when its annotation changed since
    (somebody edited it): nothing changes then.
    """
    reviewing.unconfirm(
        ctx,
        dataset.name,
        image_id,
        expected_version=body.version,
        proposal=body.prediction.to_prediction(image_id),
    )
    return ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)


@router.post("/reject", response_model=BatchOut)
def reject(dataset: DatasetInPath, ctx: Context, body: RejectRequest) -> BatchOut:
    """Drop predictions: to_confirm -> unlabeled."""
    result = annotating.reject(ctx, dataset.name, [str(i) for i in body.image_ids])
    return BatchOut.model_validate(result.to_dict())


@router.post("/images/{image_id}/restore-proposal", response_model=ImageOut)
def restore_proposal(
    dataset: DatasetInPath, ctx: Context, image_id: int, body: RestoreProposalRequest
) -> ImageOut:
    """Undo a rejection: unlabeled -> to_confirm with the proposal sent back.

    Send the ``prediction`` shown before the rejection. 409 when the image is no longer
    unlabeled (labeled since, or a newer proposal waits): nothing changes then.
    """
    reviewing.restore_proposal(ctx, dataset.name, image_id, body.prediction.to_prediction(image_id))
    return ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)


@router.get("/next", response_model=NextOut)
def next_to_label(
    dataset: DatasetInPath,
    ctx: Context,
    n: Annotated[int, Query(ge=1, le=500, description="How many images to suggest")] = 24,
) -> NextOut:
    """The open images a person should label first: most uncertain under the latest model and
    spread over the dataset (by diversity alone before any model exists)."""
    from labelloop.services.query import next_to_label as rank  # loads the ml stack lazily

    return NextOut.model_validate(rank(ctx, dataset.name, n).to_dict())

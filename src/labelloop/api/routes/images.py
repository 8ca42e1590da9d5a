"""Images: pages with filters, one image, its file and thumbnail, its annotation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse

from labelloop.domain import InvalidTransition, NotFound
from labelloop.services import annotating, browsing, thumbnails
from labelloop.services.thumbnails import BROWSER_FORMATS

from ..deps import Context, DatasetInPath
from ..schemas import AnnotationPut, ImageOut, ImagePageOut, ImageStateName, PredictionOut

router = APIRouter(prefix="/datasets/{dataset_id}/images", tags=["images"])

# Responses whose URL carries the content hash never change: let browsers keep them.
IMMUTABLE = {"Cache-Control": "private, max-age=31536000, immutable"}
_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


@router.get("", response_model=ImagePageOut)
def list_images(
    dataset: DatasetInPath,
    ctx: Context,
    state: ImageStateName | None = None,
    label: Annotated[str | None, Query(description="Annotated or predicted label")] = None,
    hard: Annotated[bool | None, Query(description="Prediction flagged hard or not")] = None,
    hard_type: Annotated[
        str | None, Query(description="none, false_detection or missed_detection")
    ] = None,
    min_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_score: Annotated[float | None, Query(ge=0, le=1)] = None,
    after: Annotated[int, Query(ge=0, description="next_after of the previous page")] = 0,
    limit: Annotated[int, Query(ge=1, le=browsing.MAX_PAGE)] = 60,
) -> ImagePageOut:
    """A page of images in id order (keyset pagination: page 1,000 costs what page 1 does)."""
    page = browsing.list_images(
        ctx,
        dataset.name,
        state=state,
        label=label,
        hard=hard,
        hard_type=hard_type,
        min_score=min_score,
        max_score=max_score,
        after=after,
        limit=limit,
    )
    return ImagePageOut(
        items=[ImageOut.from_view(v, dataset.id) for v in page.items],
        total=page.total,
        next_after=page.next_after,
    )


@router.get("/{image_id}", response_model=ImageOut)
def show_image(dataset: DatasetInPath, ctx: Context, image_id: int) -> ImageOut:
    return ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)


@router.get("/{image_id}/file", response_class=FileResponse)
def image_file(dataset: DatasetInPath, ctx: Context, image_id: int) -> Response:
    """The original file; formats browsers cannot show (TIFF) come as a large JPEG rendition."""
    image = browsing.get_image(ctx, dataset.name, str(image_id)).image
    if image.file_format not in BROWSER_FORMATS:
        path = thumbnails.thumbnail_path(ctx, image, max(thumbnails.SIZES))
        return FileResponse(path, media_type="image/jpeg", headers=IMMUTABLE)
    return FileResponse(
        thumbnails.stored_file(ctx, image),
        media_type=_MEDIA_TYPES[image.file_format],
        headers=IMMUTABLE,
    )


@router.get("/{image_id}/thumbnail", response_class=FileResponse)
def image_thumbnail(
    dataset: DatasetInPath,
    ctx: Context,
    image_id: int,
    size: Annotated[int, Query(description=f"One of {thumbnails.SIZES}")] = (
        thumbnails.DEFAULT_SIZE
    ),
) -> Response:
    """An upright JPEG whose longer side is at most ``size``; made once, then cached."""
    image = browsing.get_image(ctx, dataset.name, str(image_id)).image
    path = thumbnails.thumbnail_path(ctx, image, size)
    return FileResponse(path, media_type="image/jpeg", headers=IMMUTABLE)


@router.put("/{image_id}/annotation", response_model=ImageOut)
def put_annotation(
    dataset: DatasetInPath, ctx: Context, image_id: int, body: AnnotationPut
) -> ImageOut:
    """Label the image by hand (it becomes labeled).

    Send the annotation ``version`` the editor loaded: when somebody saved in between, the
    answer is 409 Conflict and nothing is overwritten.
    """
    boxes = [b.to_box() for b in body.boxes] if body.boxes is not None else None
    annotating.annotate(
        ctx,
        dataset.name,
        str(image_id),
        label=body.label,
        boxes=boxes,
        expected_version=body.version or 0,
    )
    return ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)


@router.delete("/{image_id}/annotation", response_model=ImageOut)
def clear_annotation(dataset: DatasetInPath, ctx: Context, image_id: int) -> ImageOut:
    """Remove a person's label: the image goes back to unlabeled."""
    result = annotating.clear(ctx, dataset.name, [str(image_id)])
    if result.skipped:
        _, reason = result.skipped[0]
        raise InvalidTransition(f"image {image_id} has no label to remove: it {reason}")
    return ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)


@router.get("/{image_id}/prediction", response_model=PredictionOut)
def show_prediction(dataset: DatasetInPath, ctx: Context, image_id: int) -> PredictionOut:
    """What a smart-labeling job proposed, with its hard-example flag and reasons."""
    view = ImageOut.from_view(browsing.get_image(ctx, dataset.name, str(image_id)), dataset.id)
    if view.prediction is None:
        raise NotFound(f"image {image_id} has no prediction waiting for confirmation")
    return view.prediction

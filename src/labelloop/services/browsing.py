"""Reading images page by page with their annotation and prediction."""

from __future__ import annotations

from dataclasses import dataclass

from labelloop.domain import Annotation, HardType, Image, ImageState, InvalidInput, Prediction
from labelloop.storage import datasets_repo, images_repo

from .context import AppContext

MAX_PAGE = 1000


@dataclass(frozen=True)
class ImageView:
    image: Image
    annotation: Annotation | None
    prediction: Prediction | None

    def to_dict(self) -> dict:
        img = self.image
        out = {
            "id": img.id,
            "file": img.original_path,
            "sha256": img.sha256,
            "width": img.width,
            "height": img.height,
            "state": img.state.value,
            "annotation": None,
            "prediction": None,
        }
        if self.annotation is not None:
            a = self.annotation
            out["annotation"] = {
                "label": a.label,
                "boxes": [_box(b) for b in a.boxes],
                "version": a.version,
                "annotated_by": a.annotated_by,
            }
        if self.prediction is not None:
            p = self.prediction
            out["prediction"] = {
                "label": p.label,
                "score": p.score,
                "boxes": [_box(b) for b in p.boxes],
                "hard": p.hard,
                "hard_type": p.hard_type.value if p.hard_type else None,
                "hard_coefficient": p.hard_coefficient,
                "hard_reasons": [{"code": r.code, "text": r.text} for r in p.hard_reasons],
                "hints": [_box(b) for b in p.hints],
                "job_id": p.job_id,
                "model_version": p.model_version,
            }
        return out


def _box(b) -> dict:
    out = {"label": b.label, "x": b.x, "y": b.y, "w": b.w, "h": b.h}
    if b.score is not None:
        out["score"] = b.score
    return out


@dataclass(frozen=True)
class ImagePage:
    items: list[ImageView]
    total: int
    next_after: int | None  # pass as ``after`` for the next page; None on the last page

    def to_dict(self) -> dict:
        return {
            "items": [v.to_dict() for v in self.items],
            "total": self.total,
            "next_after": self.next_after,
        }


def list_images(
    app: AppContext,
    dataset_name: str,
    *,
    state: str | None = None,
    label: str | None = None,
    hard: bool | None = None,
    hard_type: str | None = None,
    min_score: float | None = None,
    max_score: float | None = None,
    after: int = 0,
    limit: int = 100,
) -> ImagePage:
    """One page of images in id order; ``min_score``/``max_score`` bound the prediction's score."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"page size must be between 1 and {MAX_PAGE}")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        label_id = None
        if label is not None:
            ids = datasets_repo.label_ids(session, dataset.id)
            if label not in ids:
                raise InvalidInput(f"label {label!r} is not a label of {dataset.name!r}")
            label_id = ids[label]
        flt = images_repo.ImageFilter(
            state=_state(state),
            label_id=label_id,
            hard=hard,
            hard_type=_hard_type(hard_type),
            min_score=min_score,
            max_score=max_score,
        )
        page = images_repo.page_images(session, dataset.id, flt, after_id=after, limit=limit + 1)
        more = len(page) > limit
        page = page[:limit]
        ids = [img.id for img in page]
        annotations = images_repo.annotations_for(session, dataset.id, ids)
        predictions = images_repo.predictions_for(session, dataset.id, ids)
        total = images_repo.count_images(session, dataset.id, flt)
    items = [ImageView(img, annotations.get(img.id), predictions.get(img.id)) for img in page]
    return ImagePage(items=items, total=total, next_after=page[-1].id if more and page else None)


def get_image(app: AppContext, dataset_name: str, image_ref: str) -> ImageView:
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        image = images_repo.resolve_image(session, dataset.id, image_ref)
        annotation = images_repo.annotations_for(session, dataset.id, [image.id]).get(image.id)
        prediction = images_repo.predictions_for(session, dataset.id, [image.id]).get(image.id)
    return ImageView(image, annotation, prediction)


def _state(value: str | None) -> ImageState | None:
    if value is None:
        return None
    try:
        return ImageState(value.replace("-", "_"))
    except ValueError:
        raise InvalidInput(
            f"unknown state {value!r}; choose from {', '.join(s.value for s in ImageState)}"
        ) from None


def _hard_type(value: str | None) -> HardType | None:
    if value is None:
        return None
    try:
        return HardType(value.replace("-", "_"))
    except ValueError:
        raise InvalidInput(
            f"unknown hard type {value!r}; choose from {', '.join(h.value for h in HardType)}"
        ) from None

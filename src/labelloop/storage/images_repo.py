"""Images, annotations and predictions: rows <-> domain entities, state changes in bulk."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session

from labelloop.domain import (
    Annotation,
    Box,
    Conflict,
    HardReason,
    HardType,
    Image,
    ImageState,
    NotFound,
    Prediction,
)

from .tables import (
    AnnotationBoxRow,
    AnnotationRow,
    ImageCountRow,
    ImageRow,
    LabelRow,
    PredictionBoxRow,
    PredictionRow,
    utcnow,
)

_CHUNK = 500  # parameters per IN (...) query, well under SQLite's limit


def _chunks(values: Sequence[int], size: int = _CHUNK) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def to_image(row: ImageRow) -> Image:
    return Image(
        id=row.id,
        dataset_id=row.dataset_id,
        sha256=row.sha256,
        width=row.width,
        height=row.height,
        original_path=row.original_path,
        state=ImageState(row.state),
        file_format=row.file_format,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


# ---------------------------------------------------------------- images


def existing_shas(session: Session, dataset_id: int, shas: Iterable[str]) -> set[str]:
    wanted = list(set(shas))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        found |= set(
            session.scalars(
                select(ImageRow.sha256).where(
                    ImageRow.dataset_id == dataset_id,
                    ImageRow.sha256.in_(wanted[start : start + _CHUNK]),
                )
            )
        )
    return found


def add_image(
    session: Session,
    *,
    dataset_id: int,
    sha256: str,
    width: int,
    height: int,
    original_path: str,
    file_format: str,
    size_bytes: int,
    state: ImageState,
) -> int:
    row = ImageRow(
        dataset_id=dataset_id,
        sha256=sha256,
        width=width,
        height=height,
        original_path=original_path,
        file_format=file_format,
        size_bytes=size_bytes,
        state=state.value,
    )
    session.add(row)
    session.flush()
    bump_counts(session, dataset_id, {state: 1})
    return row.id


def init_counts(session: Session, dataset_id: int) -> None:
    session.execute(
        insert(ImageCountRow),
        [{"dataset_id": dataset_id, "state": s.value, "count": 0} for s in ImageState],
    )


def bump_counts(session: Session, dataset_id: int, deltas: dict[ImageState, int]) -> None:
    """Apply count changes; ``count = count + d`` is atomic under concurrent writers."""
    for state, delta in deltas.items():
        if delta:
            session.execute(
                update(ImageCountRow)
                .where(ImageCountRow.dataset_id == dataset_id, ImageCountRow.state == state.value)
                .values(count=ImageCountRow.count + delta)
            )


def recount(session: Session, dataset_id: int) -> dict[ImageState, int]:
    """Counts by state from the images themselves (slow on big datasets; for checks)."""
    rows = session.execute(
        select(ImageRow.state, func.count())
        .where(ImageRow.dataset_id == dataset_id)
        .group_by(ImageRow.state)
    )
    counts = {state: 0 for state in ImageState}
    for state, count in rows:
        counts[ImageState(state)] = count
    return counts


def rebuild_counts(session: Session, dataset_id: int) -> dict[ImageState, int]:
    """Recount from the images and store the result (repair after a bulk load)."""
    counts = recount(session, dataset_id)
    for state, count in counts.items():
        session.execute(
            update(ImageCountRow)
            .where(ImageCountRow.dataset_id == dataset_id, ImageCountRow.state == state.value)
            .values(count=count)
        )
    return counts


def get_image(session: Session, image_id: int, dataset_id: int | None = None) -> Image:
    row = session.get(ImageRow, image_id)
    if row is None or (dataset_id is not None and row.dataset_id != dataset_id):
        raise NotFound(f"image {image_id} does not exist in this dataset")
    return to_image(row)


def resolve_image(session: Session, dataset_id: int, ref: str) -> Image:
    """An image by id, original path, file name (when unique) or sha256 prefix (>= 8 chars)."""
    ref = ref.strip()
    base = select(ImageRow).where(ImageRow.dataset_id == dataset_id)
    if ref.isdigit():
        row = session.scalar(base.where(ImageRow.id == int(ref)))
        if row is not None:
            return to_image(row)
    row = session.scalar(base.where(ImageRow.original_path == ref))
    if row is not None:
        return to_image(row)
    by_name = session.scalars(
        base.where(
            (ImageRow.original_path == ref) | ImageRow.original_path.like(f"%/{_escape(ref)}", "\\")
        ).limit(2)
    ).all()
    if len(by_name) == 1:
        return to_image(by_name[0])
    if len(by_name) > 1:
        raise NotFound(f"{ref!r} names several images; give the image id or the full path")
    if len(ref) >= 8 and all(c in "0123456789abcdef" for c in ref.lower()):
        by_sha = session.scalars(base.where(ImageRow.sha256.like(f"{ref.lower()}%")).limit(2)).all()
        if len(by_sha) == 1:
            return to_image(by_sha[0])
    raise NotFound(f"no image {ref!r} in this dataset")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_by_state(session: Session, dataset_id: int) -> dict[ImageState, int]:
    rows = session.execute(
        select(ImageCountRow.state, ImageCountRow.count).where(
            ImageCountRow.dataset_id == dataset_id
        )
    )
    counts = {state: 0 for state in ImageState}
    for state, count in rows:
        counts[ImageState(state)] = count
    return counts


@dataclass(frozen=True)
class ImageFilter:
    state: ImageState | None = None
    states: tuple[ImageState, ...] | None = None  # any of these
    label_id: int | None = None  # annotated with (labeled) or predicted as (to_confirm)
    hard: bool | None = None
    hard_type: HardType | None = None
    min_score: float | None = None
    max_score: float | None = None


def _filtered(dataset_id: int, flt: ImageFilter) -> Select:
    query = select(ImageRow).where(ImageRow.dataset_id == dataset_id)
    if flt.state is not None:
        query = query.where(ImageRow.state == flt.state.value)
    if flt.states is not None:
        query = query.where(ImageRow.state.in_([s.value for s in flt.states]))
    needs_prediction = (
        flt.hard is not None
        or flt.hard_type is not None
        or flt.min_score is not None
        or flt.max_score is not None
    )
    if needs_prediction:
        query = query.join(PredictionRow, PredictionRow.image_id == ImageRow.id)
        if flt.hard is not None:
            query = query.where(PredictionRow.hard == flt.hard)
        if flt.hard_type is not None:
            query = query.where(PredictionRow.hard_type == flt.hard_type.value)
        if flt.min_score is not None:
            query = query.where(PredictionRow.score >= flt.min_score)
        if flt.max_score is not None:
            query = query.where(PredictionRow.score <= flt.max_score)
    if flt.label_id is not None:
        annotated = (
            select(AnnotationRow.image_id).where(AnnotationRow.label_id == flt.label_id)
        ).union(select(AnnotationBoxRow.image_id).where(AnnotationBoxRow.label_id == flt.label_id))
        predicted = (
            select(PredictionRow.image_id).where(PredictionRow.label_id == flt.label_id)
        ).union(select(PredictionBoxRow.image_id).where(PredictionBoxRow.label_id == flt.label_id))
        query = query.where(ImageRow.id.in_(annotated) | ImageRow.id.in_(predicted))
    return query


def page_images(
    session: Session, dataset_id: int, flt: ImageFilter, *, after_id: int = 0, limit: int = 100
) -> list[Image]:
    """Keyset pagination (id > after_id): a page costs the same on page 1 and page 10,000."""
    query = _filtered(dataset_id, flt).where(ImageRow.id > after_id).order_by(ImageRow.id)
    return [to_image(row) for row in session.scalars(query.limit(limit))]


def count_images(session: Session, dataset_id: int, flt: ImageFilter) -> int:
    if flt == ImageFilter(state=flt.state):  # by state alone: the kept counters answer it
        counts = count_by_state(session, dataset_id)
        return counts[flt.state] if flt.state is not None else sum(counts.values())
    sub = _filtered(dataset_id, flt).with_only_columns(ImageRow.id).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


def image_ids(session: Session, dataset_id: int, state: ImageState) -> list[int]:
    return list(
        session.scalars(
            select(ImageRow.id)
            .where(ImageRow.dataset_id == dataset_id, ImageRow.state == state.value)
            .order_by(ImageRow.id)
        )
    )


def all_images(session: Session, dataset_id: int, states: Iterable[ImageState]) -> list[Image]:
    rows = session.scalars(
        select(ImageRow)
        .where(ImageRow.dataset_id == dataset_id, ImageRow.state.in_([s.value for s in states]))
        .order_by(ImageRow.id)
    )
    return [to_image(row) for row in rows]


# ---------------------------------------------------------------- annotations


def _label_names(session: Session, dataset_id: int) -> dict[int, str]:
    rows = session.execute(
        select(LabelRow.id, LabelRow.name).where(LabelRow.dataset_id == dataset_id)
    )
    return {label_id: name for label_id, name in rows}


def set_annotation(
    session: Session,
    image_id: int,
    *,
    label_id: int | None,
    boxes: Sequence[tuple[int, float, float, float, float]] | None,
    annotated_by: str = "human",
    expected_version: int | None = None,
) -> int:
    """Write the annotation of an image (replacing it); returns its new version.

    ``expected_version``: the version the editor saw; a different stored version means somebody
    else saved first, and the write is refused instead of silently overwriting their work.
    """
    row = session.get(AnnotationRow, image_id)
    now = utcnow()
    if row is None:
        if expected_version not in (None, 0):
            raise Conflict(f"image {image_id} has no annotation any more; reload it")
        row = AnnotationRow(
            image_id=image_id,
            label_id=label_id,
            version=1,
            annotated_by=annotated_by,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        if expected_version is not None and expected_version != row.version:
            raise Conflict(
                f"image {image_id} was changed by somebody else (version {row.version}, "
                f"you edited version {expected_version}); reload it and apply your change again"
            )
        row.label_id = label_id
        row.version += 1
        row.annotated_by = annotated_by
        row.updated_at = now
        session.execute(delete(AnnotationBoxRow).where(AnnotationBoxRow.image_id == image_id))
    session.flush()
    if boxes:
        session.execute(
            insert(AnnotationBoxRow),
            [
                {"image_id": image_id, "label_id": lid, "x": x, "y": y, "w": w, "h": h}
                for (lid, x, y, w, h) in boxes
            ],
        )
    return row.version


def delete_annotation(session: Session, image_id: int) -> None:
    session.execute(delete(AnnotationRow).where(AnnotationRow.image_id == image_id))


def annotations_for(session: Session, dataset_id: int, ids: Sequence[int]) -> dict[int, Annotation]:
    names = _label_names(session, dataset_id)
    result: dict[int, Annotation] = {}
    for chunk in _chunks(list(ids)):
        rows = session.scalars(select(AnnotationRow).where(AnnotationRow.image_id.in_(chunk)))
        boxes: dict[int, list[Box]] = {}
        for b in session.scalars(
            select(AnnotationBoxRow)
            .where(AnnotationBoxRow.image_id.in_(chunk))
            .order_by(AnnotationBoxRow.id)
        ):
            boxes.setdefault(b.image_id, []).append(Box(names[b.label_id], b.x, b.y, b.w, b.h))
        for row in rows:
            result[row.image_id] = Annotation(
                image_id=row.image_id,
                label=names.get(row.label_id) if row.label_id is not None else None,
                boxes=tuple(boxes.get(row.image_id, ())),
                version=row.version,
                annotated_by=row.annotated_by,
                updated_at=row.updated_at,
            )
    return result


# ---------------------------------------------------------------- predictions


@dataclass(frozen=True)
class NewPrediction:
    """A prediction to publish, with label ids already resolved."""

    image_id: int
    label_id: int | None
    score: float | None
    boxes: Sequence[tuple[int, float, float, float, float, float]]  # (label_id, x, y, w, h, score)
    hard: bool
    hard_type: str | None
    hard_coefficient: float
    hard_reasons: list[dict]
    hints: list[dict]


def predictions_for(session: Session, dataset_id: int, ids: Sequence[int]) -> dict[int, Prediction]:
    names = _label_names(session, dataset_id)
    result: dict[int, Prediction] = {}
    for chunk in _chunks(list(ids)):
        boxes: dict[int, list[Box]] = {}
        for b in session.scalars(
            select(PredictionBoxRow)
            .where(PredictionBoxRow.image_id.in_(chunk))
            .order_by(PredictionBoxRow.id)
        ):
            boxes.setdefault(b.image_id, []).append(
                Box(names[b.label_id], b.x, b.y, b.w, b.h, b.score)
            )
        for row in session.scalars(select(PredictionRow).where(PredictionRow.image_id.in_(chunk))):
            result[row.image_id] = Prediction(
                image_id=row.image_id,
                label=names.get(row.label_id) if row.label_id is not None else None,
                score=row.score,
                boxes=tuple(boxes.get(row.image_id, ())),
                hard=row.hard,
                hard_type=HardType(row.hard_type) if row.hard_type else None,
                hard_coefficient=row.hard_coefficient,
                hard_reasons=tuple(
                    HardReason(int(r["code"]), str(r["text"])) for r in row.hard_reasons or []
                ),
                hints=tuple(
                    Box(h["label"], h["x"], h["y"], h["w"], h["h"], h.get("score"))
                    for h in row.hints or []
                ),
                job_id=row.job_id,
                model_version=row.model_version,
                created_at=row.created_at,
            )
    return result


def publish_predictions(
    session: Session,
    dataset_id: int,
    job_id: int | None,
    model_version: str | None,
    predictions: Sequence[NewPrediction],
) -> int:
    """Store predictions and move their images to to_confirm, in the caller's transaction.

    Only images that are still unlabeled or to_confirm are touched: an image a person labeled
    while the job ran keeps its label. Returns how many images were published.
    """
    wanted = [p.image_id for p in predictions]
    open_ids: set[int] = set()
    for chunk in _chunks(wanted):
        open_ids |= set(
            session.scalars(
                select(ImageRow.id).where(
                    ImageRow.dataset_id == dataset_id,
                    ImageRow.id.in_(chunk),
                    ImageRow.state.in_([ImageState.UNLABELED.value, ImageState.TO_CONFIRM.value]),
                )
            )
        )
    chosen = [p for p in predictions if p.image_id in open_ids]
    ids = [p.image_id for p in chosen]
    for chunk in _chunks(ids):
        session.execute(delete(PredictionRow).where(PredictionRow.image_id.in_(chunk)))
    now = utcnow()
    if chosen:
        session.execute(
            insert(PredictionRow),
            [
                {
                    "image_id": p.image_id,
                    "job_id": job_id,
                    "model_version": model_version,
                    "label_id": p.label_id,
                    "score": p.score,
                    "hard": p.hard,
                    "hard_type": p.hard_type,
                    "hard_coefficient": p.hard_coefficient,
                    "hard_reasons": p.hard_reasons,
                    "hints": p.hints,
                    "created_at": now,
                }
                for p in chosen
            ],
        )
        box_rows = [
            {"image_id": p.image_id, "label_id": lid, "x": x, "y": y, "w": w, "h": h, "score": s}
            for p in chosen
            for (lid, x, y, w, h, s) in p.boxes
        ]
        if box_rows:
            session.execute(insert(PredictionBoxRow), box_rows)
    set_state(session, ids, ImageState.TO_CONFIRM)
    return len(chosen)


def delete_predictions(session: Session, ids: Sequence[int]) -> None:
    for chunk in _chunks(list(ids)):
        session.execute(delete(PredictionRow).where(PredictionRow.image_id.in_(chunk)))


def set_state(session: Session, ids: Sequence[int], state: ImageState) -> None:
    """Move images to ``state``, keeping the per-state counts in step."""
    for chunk in _chunks(list(ids)):
        moved = session.execute(
            select(ImageRow.dataset_id, ImageRow.state, func.count())
            .where(ImageRow.id.in_(chunk), ImageRow.state != state.value)
            .group_by(ImageRow.dataset_id, ImageRow.state)
        ).all()
        session.execute(
            update(ImageRow)
            .where(ImageRow.id.in_(chunk), ImageRow.state != state.value)
            .values(state=state.value)
        )
        for dataset_id, old, count in moved:
            bump_counts(session, dataset_id, {ImageState(old): -count, state: count})


def to_confirm_ids(session: Session, dataset_id: int, *, hard: bool | None = None) -> list[int]:
    query = (
        select(ImageRow.id)
        .join(PredictionRow, PredictionRow.image_id == ImageRow.id)
        .where(ImageRow.dataset_id == dataset_id, ImageRow.state == ImageState.TO_CONFIRM.value)
        .order_by(ImageRow.id)
    )
    if hard is not None:
        query = query.where(PredictionRow.hard == hard)
    return list(session.scalars(query))


def label_statistics(session: Session, dataset_id: int) -> dict[str, dict[str, int]]:
    """Per label: labeled images, annotated boxes, images predicted (to_confirm)."""
    stats = {
        name: {"images": 0, "boxes": 0, "predicted": 0}
        for name in _label_names(session, dataset_id).values()
    }
    names = _label_names(session, dataset_id)
    labeled = ImageRow.state == ImageState.LABELED.value
    in_dataset = ImageRow.dataset_id == dataset_id
    for label_id, count in session.execute(
        select(AnnotationRow.label_id, func.count())
        .join(ImageRow, ImageRow.id == AnnotationRow.image_id)
        .where(in_dataset, labeled, AnnotationRow.label_id.is_not(None))
        .group_by(AnnotationRow.label_id)
    ):
        stats[names[label_id]]["images"] = count
    for label_id, images, boxes in session.execute(
        select(
            AnnotationBoxRow.label_id,
            func.count(func.distinct(AnnotationBoxRow.image_id)),
            func.count(),
        )
        .join(ImageRow, ImageRow.id == AnnotationBoxRow.image_id)
        .where(in_dataset, labeled)
        .group_by(AnnotationBoxRow.label_id)
    ):
        stats[names[label_id]]["images"] = images
        stats[names[label_id]]["boxes"] = boxes
    predicted_cls = select(PredictionRow.label_id.label("lid"), PredictionRow.image_id).where(
        PredictionRow.label_id.is_not(None)
    )
    predicted_box = select(PredictionBoxRow.label_id.label("lid"), PredictionBoxRow.image_id)
    union = predicted_cls.union(predicted_box).subquery()
    for label_id, count in session.execute(
        select(union.c.lid, func.count(func.distinct(union.c.image_id)))
        .join(ImageRow, ImageRow.id == union.c.image_id)
        .where(in_dataset, ImageRow.state == ImageState.TO_CONFIRM.value)
        .group_by(union.c.lid)
    ):
        stats[names[label_id]]["predicted"] = count
    return stats

"""Datasets and labels: rows <-> domain entities."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelloop.domain import AlreadyExists, Dataset, Label, NotFound, TaskType

from . import images_repo
from .tables import DatasetRow, ImageRow, LabelRow


def _labels_of(session: Session, dataset_id: int) -> tuple[Label, ...]:
    rows = session.scalars(
        select(LabelRow).where(LabelRow.dataset_id == dataset_id).order_by(LabelRow.position)
    )
    return tuple(Label(name=r.name, color=r.color, id=r.id) for r in rows)


def _to_entity(session: Session, row: DatasetRow) -> Dataset:
    return Dataset(
        id=row.id,
        name=row.name,
        task_type=TaskType(row.task_type),
        labels=_labels_of(session, row.id),
        created_at=row.created_at,
    )


def create_dataset(session: Session, name: str, task_type: TaskType) -> Dataset:
    if session.scalar(select(DatasetRow.id).where(DatasetRow.name == name)) is not None:
        raise AlreadyExists(f"a dataset named {name!r} already exists")
    row = DatasetRow(name=name, task_type=task_type.value)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise AlreadyExists(f"a dataset named {name!r} already exists") from None
    images_repo.init_counts(session, row.id)
    return _to_entity(session, row)


def get_dataset(session: Session, dataset_id: int) -> Dataset:
    row = session.get(DatasetRow, dataset_id)
    if row is None:
        raise NotFound(f"dataset {dataset_id} does not exist")
    return _to_entity(session, row)


def get_dataset_by_name(session: Session, name: str) -> Dataset:
    row = session.scalar(select(DatasetRow).where(DatasetRow.name == name))
    if row is None:
        raise NotFound(f"dataset {name!r} does not exist")
    return _to_entity(session, row)


def list_datasets(session: Session) -> list[Dataset]:
    rows = session.scalars(select(DatasetRow).order_by(DatasetRow.name)).all()
    return [_to_entity(session, row) for row in rows]


def delete_dataset(session: Session, dataset_id: int) -> set[str]:
    """Delete the dataset and everything in it; returns the sha256 no other dataset uses."""
    shas = set(session.scalars(select(ImageRow.sha256).where(ImageRow.dataset_id == dataset_id)))
    # Images (and with them annotations and boxes) go first: annotations point at labels with
    # ON DELETE RESTRICT, which SQLite checks row by row while one dataset delete cascades to
    # labels and images in no set order.
    session.execute(delete(ImageRow).where(ImageRow.dataset_id == dataset_id))
    session.execute(delete(DatasetRow).where(DatasetRow.id == dataset_id))
    session.flush()
    still_used = set()
    shas_list = sorted(shas)
    for start in range(0, len(shas_list), 500):
        chunk = shas_list[start : start + 500]
        still_used |= set(
            session.scalars(select(ImageRow.sha256).where(ImageRow.sha256.in_(chunk)))
        )
    return shas - still_used


def add_labels(session: Session, dataset_id: int, labels: list[tuple[str, str]]) -> list[Label]:
    """Add (name, colour) pairs not yet in the dataset; returns the labels that were added."""
    existing = {label.name for label in _labels_of(session, dataset_id)}
    position = session.scalar(
        select(func.coalesce(func.max(LabelRow.position), -1)).where(
            LabelRow.dataset_id == dataset_id
        )
    )
    added = []
    for name, color in labels:
        if name in existing:
            continue
        position += 1
        row = LabelRow(dataset_id=dataset_id, name=name, color=color, position=position)
        session.add(row)
        session.flush()
        existing.add(name)
        added.append(Label(name=name, color=color, id=row.id))
    return added


def label_ids(session: Session, dataset_id: int) -> dict[str, int]:
    rows = session.execute(
        select(LabelRow.name, LabelRow.id).where(LabelRow.dataset_id == dataset_id)
    )
    return {name: label_id for name, label_id in rows}

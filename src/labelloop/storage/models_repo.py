"""Model registry rows <-> Model entities."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelloop.domain import NotFound, TaskType
from labelloop.domain.models import Model, ModelSource

from .tables import ModelNameRow, ModelRow


def to_model(row: ModelRow) -> Model:
    return Model(
        id=row.id,
        name=row.name,
        version=row.version,
        task_type=TaskType(row.task_type),
        source=ModelSource(row.source),
        class_names=tuple(row.class_names or ()),
        metrics=dict(row.metrics or {}),
        config=dict(row.config or {}),
        path=row.path,
        dataset_id=row.dataset_id,
        job_id=row.job_id,
        created_at=row.created_at,
    )


def add_model(
    session: Session,
    *,
    name: str,
    task_type: TaskType,
    source: str,
    class_names: list[str],
    metrics: dict,
    config: dict,
    path: str | None,
    dataset_id: int | None = None,
    job_id: int | None = None,
) -> Model:
    """Register the next version of ``name`` (versions count from 1 and are never reused)."""
    counter = session.get(ModelNameRow, name, with_for_update=True)
    latest = session.scalar(select(func.max(ModelRow.version)).where(ModelRow.name == name))
    version = max(latest or 0, counter.last_version if counter else 0) + 1
    if counter is None:
        session.add(ModelNameRow(name=name, last_version=version))
    else:
        counter.last_version = version
    row = ModelRow(
        name=name,
        version=version,
        task_type=task_type.value,
        source=ModelSource(source).value,
        class_names=list(class_names),
        metrics=metrics,
        config=config,
        path=path,
        dataset_id=dataset_id,
        job_id=job_id,
    )
    session.add(row)
    session.flush()
    return to_model(row)


def get_model(session: Session, ref: str) -> Model:
    """``name`` (latest version), ``name:version`` or a numeric id."""
    name, _, version = ref.partition(":")
    query = select(ModelRow).where(ModelRow.name == name)
    if version:
        if not version.isdigit():
            raise NotFound(f"model version {version!r} is not a number")
        query = query.where(ModelRow.version == int(version))
    row = session.scalar(query.order_by(ModelRow.version.desc()).limit(1))
    if row is None and ref.isdigit():
        row = session.get(ModelRow, int(ref))
    if row is None:
        raise NotFound(f"model {ref!r} does not exist")
    return to_model(row)


def list_models(session: Session, task_type: TaskType | None = None) -> list[Model]:
    query = select(ModelRow).order_by(ModelRow.name, ModelRow.version)
    if task_type is not None:
        query = query.where(ModelRow.task_type == task_type.value)
    return [to_model(row) for row in session.scalars(query)]


def delete_model(session: Session, model_id: int) -> None:
    row = session.get(ModelRow, model_id)
    if row is not None:
        session.delete(row)


def set_model_path(session: Session, model_id: int, path: str | None) -> None:
    """Record where a model's files live (known only once its version number is)."""
    row = session.get(ModelRow, model_id)
    if row is None:
        raise NotFound(f"model {model_id} does not exist")
    row.path = path
    session.flush()

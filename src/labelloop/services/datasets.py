"""Use cases on datasets and labels."""

from __future__ import annotations

from dataclasses import dataclass

from labelloop.domain import Dataset, ImageState, InvalidInput, JobConflict, Label
from labelloop.domain.rules import (
    color_for,
    parse_task_type,
    validate_color,
    validate_dataset_name,
    validate_label_name,
)
from labelloop.storage import datasets_repo, images_repo, jobs_repo

from .context import AppContext


@dataclass(frozen=True)
class DatasetOverview:
    dataset: Dataset
    counts: dict[str, int]  # by state, plus "total"
    labels: dict[str, dict[str, int]]  # per label: images, boxes, predicted

    def to_dict(self) -> dict:
        return {
            "id": self.dataset.id,
            "name": self.dataset.name,
            "task_type": self.dataset.task_type.value,
            "labels": [
                {"name": label.name, "color": label.color, **self.labels.get(label.name, {})}
                for label in self.dataset.labels
            ],
            "counts": self.counts,
            "created_at": self.dataset.created_at.isoformat() if self.dataset.created_at else None,
        }


def create_dataset(
    app: AppContext, name: str, task_type: str, labels: list[str] | None = None
) -> Dataset:
    name = validate_dataset_name(name)
    kind = parse_task_type(task_type)
    label_names = [validate_label_name(label) for label in labels or []]
    with app.db.session() as session:
        dataset = datasets_repo.create_dataset(session, name, kind)
        datasets_repo.add_labels(
            session, dataset.id, [(n, color_for(i)) for i, n in enumerate(label_names)]
        )
        return datasets_repo.get_dataset(session, dataset.id)


def get_dataset(app: AppContext, ref: str | int) -> Dataset:
    with app.db.session() as session:
        if isinstance(ref, int):
            return datasets_repo.get_dataset(session, ref)
        return datasets_repo.get_dataset_by_name(session, ref)


def list_datasets(app: AppContext) -> list[DatasetOverview]:
    with app.db.session() as session:
        return [
            _overview(session, dataset, with_labels=False)
            for dataset in datasets_repo.list_datasets(session)
        ]


def dataset_overview(app: AppContext, ref: str | int) -> DatasetOverview:
    with app.db.session() as session:
        dataset = (
            datasets_repo.get_dataset(session, ref)
            if isinstance(ref, int)
            else datasets_repo.get_dataset_by_name(session, ref)
        )
        return _overview(session, dataset, with_labels=True)


def _overview(session, dataset: Dataset, *, with_labels: bool) -> DatasetOverview:
    by_state = images_repo.count_by_state(session, dataset.id)
    counts = {state.value: by_state[state] for state in ImageState}
    counts["total"] = sum(by_state.values())
    labels = images_repo.label_statistics(session, dataset.id) if with_labels else {}
    return DatasetOverview(dataset=dataset, counts=counts, labels=labels)


def delete_dataset(app: AppContext, ref: str) -> Dataset:
    """Delete a dataset with its images, annotations, predictions and jobs.

    Files are removed after the database commit, and only those no other dataset uses: a crash
    in between leaves unused files behind, never a row pointing at a missing file.
    """
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, ref)
        job = jobs_repo.active_job(session, dataset.id)
        if job is not None:
            # Its worker would go on writing predictions into a dataset that no longer exists.
            raise JobConflict(
                f"dataset {dataset.name!r} has job {job.id} {job.state.value}; cancel it or wait "
                "before deleting the dataset",
                job_id=job.id,
            )
        orphans = datasets_repo.delete_dataset(session, dataset.id)
    for sha in orphans:
        app.blobs.delete(sha)
    return dataset


def add_labels(
    app: AppContext, ref: str, names: list[str], colors: list[str] | None = None
) -> list[Label]:
    if not names:
        raise InvalidInput("give at least one label name")
    cleaned = [validate_label_name(n) for n in names]
    if colors is not None and len(colors) != len(cleaned):
        raise InvalidInput("give one colour per label, or none")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, ref)
        start = len(dataset.labels)
        pairs = [
            (name, validate_color(colors[i]) if colors else color_for(start + i))
            for i, name in enumerate(cleaned)
        ]
        return datasets_repo.add_labels(session, dataset.id, pairs)

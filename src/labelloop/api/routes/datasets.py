"""Datasets and their labels."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from labelloop.services import datasets

from ..deps import Context, DatasetInPath
from ..schemas import DatasetCreate, DatasetOut, LabelOut, LabelsCreate

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.get("", response_model=list[DatasetOut])
def list_datasets(ctx: Context) -> list[DatasetOut]:
    """Every dataset with its image counts by state."""
    return [DatasetOut.from_overview(o) for o in datasets.list_datasets(ctx)]


@router.post("", response_model=DatasetOut, status_code=status.HTTP_201_CREATED)
def create_dataset(ctx: Context, body: DatasetCreate) -> DatasetOut:
    created = datasets.create_dataset(ctx, body.name, body.task_type, body.labels)
    return DatasetOut.from_overview(datasets.dataset_overview(ctx, created.id))


@router.get("/{dataset_id}", response_model=DatasetOut)
def show_dataset(dataset: DatasetInPath, ctx: Context) -> DatasetOut:
    """Counts by state and, per label, labeled images, boxes and predictions."""
    return DatasetOut.from_overview(datasets.dataset_overview(ctx, dataset.id))


@router.delete("/{dataset_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(dataset: DatasetInPath, ctx: Context) -> Response:
    """Delete the dataset with its images, annotations, predictions and jobs."""
    datasets.delete_dataset(ctx, dataset.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{dataset_id}/labels", response_model=list[LabelOut])
def list_labels(dataset: DatasetInPath, ctx: Context) -> list[LabelOut]:
    return DatasetOut.from_overview(datasets.dataset_overview(ctx, dataset.id)).labels


@router.post(
    "/{dataset_id}/labels", response_model=list[LabelOut], status_code=status.HTTP_201_CREATED
)
def add_labels(dataset: DatasetInPath, ctx: Context, body: LabelsCreate) -> list[LabelOut]:
    """Add labels (colours are picked from the palette unless given)."""
    added = datasets.add_labels(ctx, dataset.name, body.names, body.colors)
    return [
        LabelOut(name=label.name, color=label.color, images=0, boxes=0, predicted=0)
        for label in added
    ]

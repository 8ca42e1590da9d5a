"""Export a dataset (or the images of some states) in one of the formats."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.domain import Dataset, ImageState, InvalidInput, Prediction, TaskType
from labelloop.formats import DatasetInfo, ExportItem, ExportPrediction, ExportReport, get_format
from labelloop.storage import datasets_repo, images_repo

from .context import AppContext

_PAGE = 1000


def parse_states(values: list[str] | None) -> list[ImageState]:
    if not values:
        return list(ImageState)
    states = []
    for value in values:
        for part in value.split(","):
            part = part.strip().replace("-", "_")
            if not part:
                continue
            try:
                states.append(ImageState(part))
            except ValueError:
                raise InvalidInput(
                    f"unknown state {part!r}; choose from {', '.join(s.value for s in ImageState)}"
                ) from None
    return list(dict.fromkeys(states))


def export_dataset(
    app: AppContext,
    dataset_name: str,
    out: Path,
    *,
    format_name: str,
    states: list[ImageState] | None = None,
) -> ExportReport:
    fmt = get_format(format_name)
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
    if dataset.task_type not in fmt.task_types:
        raise InvalidInput(
            f"format {fmt.name} cannot hold a {dataset.task_type.value} dataset; "
            f"it is for {' or '.join(t.value for t in fmt.task_types)}"
        )
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidInput(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()):
        raise InvalidInput(f"{out} is not empty; export into a new or empty folder")
    info = DatasetInfo(
        name=dataset.name,
        task_type=dataset.task_type,
        labels=tuple(dataset.label_names()),
    )
    missing: list[tuple[str, str]] = []
    report = fmt.write(
        out, info, iter_export_items(app, dataset, states or list(ImageState), missing)
    )
    report.missing = missing
    return report


def iter_export_items(
    app: AppContext,
    dataset: Dataset,
    states: list[ImageState],
    missing: list[tuple[str, str]] | None = None,
) -> Iterator[ExportItem]:
    """Everything the exporters need, read page by page so a big dataset streams. Images whose
    stored file is gone (deleted by hand) are left out and listed in ``missing``: the rest of
    the dataset still exports."""
    flt = images_repo.ImageFilter(states=tuple(states))
    detection = dataset.task_type is TaskType.DETECTION
    after = 0
    while True:
        with app.db.session() as session:
            page = images_repo.page_images(session, dataset.id, flt, after_id=after, limit=_PAGE)
            ids = [img.id for img in page]
            annotations = images_repo.annotations_for(session, dataset.id, ids)
            predictions = images_repo.predictions_for(session, dataset.id, ids)
        if not page:
            return
        for image in page:
            if not app.blobs.exists(image.sha256):
                if missing is not None:
                    missing.append(
                        (image.original_path, "its file is missing from the data directory")
                    )
                continue
            annotation = annotations.get(image.id) if image.state is ImageState.LABELED else None
            prediction = predictions.get(image.id) if image.state is ImageState.TO_CONFIRM else None
            yield ExportItem(
                file=app.blobs.path_for(image.sha256),
                original_path=image.original_path,
                width=image.width,
                height=image.height,
                state=image.state.value,
                sha256=image.sha256,
                label=annotation.label if annotation else None,
                boxes=tuple(annotation.boxes) if annotation and detection else None,
                prediction=_export_prediction(prediction) if prediction else None,
                annotated_at=annotation.updated_at.isoformat()
                if annotation and annotation.updated_at
                else None,
            )
        after = page[-1].id


def _export_prediction(prediction: Prediction) -> ExportPrediction:
    return ExportPrediction(
        label=prediction.label,
        score=prediction.score,
        boxes=prediction.boxes,
        hard=prediction.hard,
        hard_type=prediction.hard_type,
        hard_coefficient=prediction.hard_coefficient,
        hard_reasons=prediction.hard_reasons,
        model_version=prediction.model_version,
        job_id=prediction.job_id,
        created_at=prediction.created_at.isoformat() if prediction.created_at else None,
    )

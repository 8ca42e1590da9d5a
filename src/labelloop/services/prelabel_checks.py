"""What must hold before a pre-label job is queued (called by services.jobs.start_job).

- ``params["model"]`` names a registered model ("NAME" or "NAME:VERSION"); the job's params are
  pinned to the exact version (``NAME:VERSION`` and ``model_id``) so a version registered while
  the job waits does not change what it runs;
- the model's task type is the dataset's (a classification model cannot pre-label a detection
  dataset);
- ``params["map"]`` (optional, {model_class: dataset_label}) names real classes and labels, and
  at least one model class maps to a label;
- the dataset has unlabeled or to-confirm images.
"""

from __future__ import annotations

from labelloop.domain import Dataset, ImageState, InvalidInput, WrongTaskType
from labelloop.domain.models import Model
from labelloop.storage import images_repo, models_repo

from .label_mapping import LabelMapping, resolve_mapping


def check_prelabel_start(session, dataset: Dataset, params: dict) -> dict:
    """Validate ``params`` and return them pinned to the model version; raises InvalidInput."""
    ref = params.get("model")
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidInput("pre-labeling needs a model: --model NAME or NAME:VERSION")
    model = models_repo.get_model(session, ref.strip())
    mapping = mapping_for(model, dataset, params.get("map"))
    counts = images_repo.count_by_state(session, dataset.id)
    if counts[ImageState.UNLABELED] + counts[ImageState.TO_CONFIRM] < 1:
        raise InvalidInput(f"dataset {dataset.name!r} has no unlabeled or to-confirm images")
    pinned = dict(params)
    pinned["model"] = model.ref
    pinned["model_id"] = model.id
    pinned["map"] = dict(params.get("map") or {})
    pinned["mapping"] = dict(mapping.to_label)
    return pinned


def mapping_for(model: Model, dataset: Dataset, explicit) -> LabelMapping:
    if model.task_type is not dataset.task_type:
        raise WrongTaskType(
            f"model {model.ref} is a {model.task_type.value} model; it cannot pre-label the "
            f"{dataset.task_type.value} dataset {dataset.name!r}"
        )
    if explicit is not None and not (
        isinstance(explicit, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in explicit.items())
    ):
        raise InvalidInput("the label map must be {model_class: dataset_label}")
    return resolve_mapping(model.class_names, dataset.label_names(), explicit)

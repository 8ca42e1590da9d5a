"""Preconditions to start smart labeling (design section 1), each failure with its own message."""

from __future__ import annotations

from collections.abc import Mapping

from .entities import Job
from .errors import PreconditionFailed

MIN_LABELS = 2
MIN_IMAGES_PER_LABEL = 5


def smart_labeling_problems(
    *,
    labeled_per_label: Mapping[str, int],
    unlabeled_count: int,
    running_job: Job | None,
    min_images_per_label: int = MIN_IMAGES_PER_LABEL,
) -> list[str]:
    """Every reason smart labeling cannot start; empty when it can.

    ``labeled_per_label`` counts labeled images per label (a detection image counts for every
    label it has a box of), including labels with zero images.
    """
    problems: list[str] = []
    if len(labeled_per_label) < MIN_LABELS:
        problems.append(
            f"the dataset has {len(labeled_per_label)} label(s); smart labeling needs at least "
            f"{MIN_LABELS}"
        )
    for name, count in sorted(labeled_per_label.items()):
        if count < min_images_per_label:
            problems.append(
                f"label {name!r} has {count} labeled image(s); it needs at least "
                f"{min_images_per_label}"
            )
    if unlabeled_count < 1:
        problems.append("the dataset has no unlabeled images to label")
    if running_job is not None:
        problems.append(
            f"smart-labeling job {running_job.id} of this dataset is still "
            f"{running_job.state.value}"
        )
    return problems


def require_smart_labeling(**kwargs) -> None:
    problems = smart_labeling_problems(**kwargs)
    if problems:
        raise PreconditionFailed(problems)

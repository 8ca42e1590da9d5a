"""Entities and value objects of design section 2. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class TaskType(StrEnum):
    CLASSIFICATION = "classification"
    DETECTION = "detection"


class ImageState(StrEnum):
    UNLABELED = "unlabeled"
    TO_CONFIRM = "to_confirm"
    LABELED = "labeled"


class HardType(StrEnum):
    NONE = "none"
    FALSE_DETECTION = "false_detection"
    MISSED_DETECTION = "missed_detection"


class JobKind(StrEnum):
    AUTO_LABEL = "auto-label"
    PRE_LABEL = "pre-label"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"

    @property
    def active(self) -> bool:
        return self in (JobState.QUEUED, JobState.RUNNING)


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


@dataclass(frozen=True)
class Label:
    name: str
    color: str
    id: int | None = None


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in pixels of the displayed (EXIF-rotated) image."""

    label: str
    x: float
    y: float
    w: float
    h: float
    score: float | None = None

    @property
    def x2(self) -> float:
        return self.x + self.w

    @property
    def y2(self) -> float:
        return self.y + self.h


@dataclass(frozen=True)
class HardReason:
    code: int
    text: str


@dataclass(frozen=True)
class Dataset:
    id: int
    name: str
    task_type: TaskType
    labels: tuple[Label, ...] = ()
    created_at: datetime | None = None

    def label_names(self) -> list[str]:
        return [label.name for label in self.labels]


@dataclass(frozen=True)
class Image:
    id: int
    dataset_id: int
    sha256: str
    width: int
    height: int
    original_path: str
    state: ImageState
    file_format: str = ""
    size_bytes: int = 0
    created_at: datetime | None = None

    @property
    def file_name(self) -> str:
        return self.original_path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Annotation:
    """What a person confirmed: one label (classification) or boxes (detection)."""

    image_id: int
    label: str | None = None
    boxes: tuple[Box, ...] = ()
    version: int = 1
    annotated_by: str = "human"
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Prediction:
    """What a model proposed, kept apart from annotations until a person confirms it."""

    image_id: int
    label: str | None = None
    score: float | None = None
    boxes: tuple[Box, ...] = ()
    hard: bool = False
    hard_type: HardType | None = None
    hard_coefficient: float = 0.0
    hard_reasons: tuple[HardReason, ...] = ()
    # Candidate regions under the show threshold that point to a missed object (detection).
    hints: tuple[Box, ...] = ()
    job_id: int | None = None
    model_version: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Job:
    id: int
    dataset_id: int
    kind: JobKind
    state: JobState
    params: dict = field(default_factory=dict)
    stage: str = ""
    done: int = 0
    total: int = 0
    eta_seconds: float | None = None
    metrics: dict = field(default_factory=dict)
    result: dict = field(default_factory=dict)
    error: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    pid: int | None = None

    @property
    def progress(self) -> float:
        """Share of the current stage done; a job that succeeded is complete."""
        if self.state is JobState.SUCCEEDED:
            return 1.0
        return self.done / self.total if self.total else 0.0

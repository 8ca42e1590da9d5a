"""The model registry entry (design section 2: Model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .entities import TaskType


class ModelSource(StrEnum):
    TRAINED = "trained"
    ONNX = "onnx"
    REMOTE = "remote"


@dataclass(frozen=True)
class Model:
    id: int
    name: str
    version: int
    task_type: TaskType
    source: ModelSource
    class_names: tuple[str, ...]
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    path: str | None = None
    dataset_id: int | None = None
    job_id: int | None = None
    created_at: datetime | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

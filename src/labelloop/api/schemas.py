"""Request and response bodies of the REST API (DTOs), apart from the database tables.

Responses are built from domain entities and service results by the ``from_*`` constructors,
so the JSON a client sees changes only when this file does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from labelloop.domain import Box, HardReason, HardType, Job, Prediction
from labelloop.domain.models import Model
from labelloop.services.browsing import ImageView
from labelloop.services.datasets import DatasetOverview


def _as_utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; every stored time is UTC, so say so in the JSON
    # (a browser reads a time without an offset as local time).
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


Timestamp = Annotated[datetime | None, AfterValidator(_as_utc)]
TaskTypeName = Literal["classification", "detection"]
ImageStateName = Literal["unlabeled", "to_confirm", "labeled"]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo is an error, not a silently ignored key."""

    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors


class ErrorOut(BaseModel):
    error: str = Field(description="Machine-readable problem, e.g. not_found, conflict")
    message: str
    reasons: list[str] | None = Field(None, description="Each failed precondition")
    job_id: int | None = None


# ---------------------------------------------------------------- datasets and labels


class LabelOut(BaseModel):
    name: str
    color: str = Field(description="#RRGGBB, the label's colour everywhere in the UI")
    # Counted for one dataset (show, labels), left out (null) when listing every dataset.
    images: int | None = Field(None, description="Labeled images with this label")
    boxes: int | None = Field(None, description="Labeled boxes with this label (detection)")
    predicted: int | None = Field(
        None, description="Images waiting for confirmation predicted with it"
    )


class DatasetOut(BaseModel):
    id: int
    name: str
    task_type: TaskTypeName
    labels: list[LabelOut]
    counts: dict[str, int] = Field(description="Images by state, plus total")
    created_at: Timestamp

    @classmethod
    def from_overview(cls, overview: DatasetOverview) -> DatasetOut:
        return cls.model_validate(overview.to_dict())


class DatasetCreate(Strict):
    name: str = Field(examples=["pets"])
    task_type: TaskTypeName
    labels: list[str] = Field(default_factory=list, examples=[["cat", "dog"]])


class LabelsCreate(Strict):
    names: list[str] = Field(min_length=1)
    colors: list[str] | None = Field(None, description="One #RRGGBB per name, or none")


# ---------------------------------------------------------------- images


class BoxIn(Strict):
    label: str
    x: float = Field(description="Left, in pixels of the upright (EXIF-rotated) image")
    y: float
    w: float
    h: float

    def to_box(self) -> Box:
        return Box(self.label, self.x, self.y, self.w, self.h)


class BoxOut(BaseModel):
    label: str
    x: float
    y: float
    w: float
    h: float
    score: float | None = None


class AnnotationOut(BaseModel):
    label: str | None
    boxes: list[BoxOut]
    version: int = Field(description="Send it back with the next PUT (optimistic concurrency)")
    annotated_by: str


class HardReasonOut(BaseModel):
    code: int
    text: str


class PredictionOut(BaseModel):
    label: str | None
    score: float | None
    boxes: list[BoxOut]
    hard: bool
    hard_type: Literal["none", "false_detection", "missed_detection"] | None
    hard_coefficient: float
    hard_reasons: list[HardReasonOut]
    hints: list[BoxOut] = Field(description="Candidate regions of missed objects, not boxes")
    job_id: int | None
    model_version: str | None


class ImageOut(BaseModel):
    id: int
    file: str = Field(description="The path it was imported from")
    sha256: str
    width: int
    height: int
    state: ImageStateName
    file_format: str
    annotation: AnnotationOut | None
    prediction: PredictionOut | None
    file_url: str
    thumbnail_url: str

    @classmethod
    def from_view(cls, view: ImageView, dataset_id: int) -> ImageOut:
        base = f"/api/v1/datasets/{dataset_id}/images/{view.image.id}"
        # The content hash in the URL lets browsers cache the bytes for good: an image id that
        # is reused after a deletion gets a different URL.
        version = view.image.sha256[:12]
        return cls(
            **view.to_dict(),
            file_format=view.image.file_format,
            file_url=f"{base}/file?v={version}",
            thumbnail_url=f"{base}/thumbnail?v={version}",
        )


class ImagePageOut(BaseModel):
    items: list[ImageOut]
    total: int = Field(description="Images matching the filters, on every page")
    next_after: int | None = Field(description="Pass as ?after= for the next page; null: last")


class AnnotationPut(Strict):
    label: str | None = Field(None, description="Classification: the image's label")
    boxes: list[BoxIn] | None = Field(
        None, description="Detection: every box of the image (empty list: no objects)"
    )
    version: int | None = Field(
        None,
        description="The annotation version the editor saw; null or 0 when it saw none. "
        "A different stored version answers 409 instead of overwriting.",
    )


# ---------------------------------------------------------------- review


class CorrectionIn(Strict):
    image_id: int
    label: str | None = None
    boxes: list[BoxIn] | None = None


Unit = Annotated[float, Field(ge=0, le=1)]
HardTypeName = Literal["none", "false_detection", "missed_detection"]


class ReviewFilterIn(Strict):
    """The filters of the "To be confirmed" grid, as on ``GET .../images``."""

    label: str | None = Field(None, description="Predicted label (or a label of a box)")
    hard: bool | None = None
    hard_type: HardTypeName | None = None
    min_score: Unit | None = None
    max_score: Unit | None = None


class ConfirmRequest(Strict):
    image_ids: list[int] = Field(default_factory=list, description="Confirm these as predicted")
    corrections: list[CorrectionIn] = Field(
        default_factory=list, description="Confirm these with the label or boxes given here"
    )
    all_not_hard: bool = Field(False, description="Every prediction not flagged hard")
    all: bool = Field(False, description="Every prediction waiting for confirmation")
    filters: ReviewFilterIn | None = Field(
        None,
        description="With all_not_hard or all: confirm only the proposals matching these "
        "filters (what the grid shows), never those of other labels or scores",
    )


class RejectRequest(Strict):
    image_ids: list[int] = Field(min_length=1)


class ProposalBoxIn(Strict):
    label: str
    x: float
    y: float
    w: float
    h: float
    score: Unit | None = None

    def to_box(self) -> Box:
        return Box(self.label, self.x, self.y, self.w, self.h, self.score)


class HardReasonIn(Strict):
    code: int
    text: str


class ProposalIn(Strict):
    """The proposal as ``GET .../images/{id}`` showed it before the confirmation."""

    label: str | None = None
    score: Unit | None = None
    boxes: list[ProposalBoxIn] = Field(default_factory=list)
    hard: bool = False
    hard_type: HardTypeName | None = None
    hard_coefficient: Unit = 0.0
    hard_reasons: list[HardReasonIn] = Field(default_factory=list)
    hints: list[ProposalBoxIn] = Field(default_factory=list)
    job_id: int | None = None
    model_version: str | None = None

    def to_prediction(self, image_id: int) -> Prediction:
        return Prediction(
            image_id=image_id,
            label=self.label,
            score=self.score,
            boxes=tuple(b.to_box() for b in self.boxes),
            hard=self.hard,
            hard_type=HardType(self.hard_type) if self.hard_type else None,
            hard_coefficient=self.hard_coefficient,
            hard_reasons=tuple(HardReason(r.code, r.text) for r in self.hard_reasons),
            hints=tuple(b.to_box() for b in self.hints),
            job_id=self.job_id,
            model_version=self.model_version,
        )


class UnconfirmRequest(Strict):
    version: int = Field(description="The annotation version the confirmation answered with")
    prediction: ProposalIn


class RestoreProposalRequest(Strict):
    prediction: ProposalIn = Field(description="The proposal as shown before the rejection")


class SkippedOut(BaseModel):
    image: str
    reason: str


class BatchOut(BaseModel):
    changed: int
    image_ids: list[int]
    skipped: list[SkippedOut]


# ---------------------------------------------------------------- import / export


class ImportPathIn(Strict):
    path: str = Field(description="A folder or .zip on the server")
    format: str = Field("auto", description="auto, folder, imagenet, coco, voc, yolo, ...")


class FileProblemOut(BaseModel):
    file: str
    reason: str | None = None
    problem: str | None = None


class ImportReportOut(BaseModel):
    dataset: str
    format: str
    found: int
    imported: int
    labeled: int
    unlabeled: int
    boxes: int
    annotated_existing: int = Field(
        0, description="Images already in the dataset, open until now, labeled by this import"
    )
    duplicates: list[str]
    skipped: list[FileProblemOut]
    warnings: list[FileProblemOut]
    labels_added: list[str]


# ---------------------------------------------------------------- tasks (jobs) and models


class TaskConfig(Strict):
    algorithm_type: Literal["fast", "accurate"] | None = Field(
        None, description="Active learning on classification only (default fast)"
    )


class TaskCreate(Strict):
    task_type: Literal["auto-label", "pre-label"]
    model_id: int | str | None = Field(None, description="Pre-labeling: registry id or NAME:V")
    config: TaskConfig = Field(default_factory=TaskConfig)
    label_map: dict[str, str] | None = Field(
        None, description="Pre-labeling: model class -> dataset label"
    )


class TaskOut(BaseModel):
    task_id: int
    dataset_id: int
    task_type: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]
    stage: str
    done: int
    total: int
    progress: float = Field(description="done / total of the current stage, 0..1")
    eta_seconds: float | None
    config: dict
    metrics: dict
    result: dict
    error: str | None
    created_at: Timestamp
    started_at: Timestamp
    finished_at: Timestamp

    @classmethod
    def from_job(cls, job: Job) -> TaskOut:
        return cls(
            task_id=job.id,
            dataset_id=job.dataset_id,
            task_type=job.kind.value,
            state=job.state.value,
            stage=job.stage,
            done=job.done,
            total=job.total,
            progress=round(job.progress, 4),
            eta_seconds=job.eta_seconds,
            config=job.params,
            metrics=job.metrics,
            result=job.result,
            error=job.error,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class ModelOut(BaseModel):
    id: int
    name: str
    version: int
    ref: str = Field(description="NAME:VERSION")
    task_type: TaskTypeName
    source: str = Field(description="trained, onnx or remote")
    class_names: list[str]
    metrics: dict
    dataset_id: int | None
    job_id: int | None
    created_at: Timestamp

    @classmethod
    def from_model(cls, model: Model) -> ModelOut:
        return cls(
            id=model.id,
            name=model.name,
            version=model.version,
            ref=model.ref,
            task_type=model.task_type.value,
            source=model.source.value,
            class_names=list(model.class_names),
            metrics=model.metrics,
            dataset_id=model.dataset_id,
            job_id=model.job_id,
            created_at=model.created_at,
        )


class RemoteModelCreate(Strict):
    """A Label Studio ML backend to register (as ``labelloop model register --remote``)."""

    name: str = Field(description="Registry name; each registration adds a version")
    url: str = Field(description="http(s)://host[:port][/path] of the backend")
    task_type: TaskTypeName
    class_names: list[str] = Field(
        default_factory=list, description="Empty: taken from the backend's /setup"
    )
    timeout_s: float = Field(60.0, description="Seconds per request")
    retries: int = Field(3, description="Retries on connection errors and 5xx answers")
    batch_size: int = Field(8, description="Images per /predict request")
    image_transport: Literal["http", "data-uri"] = Field(
        "http", description="Images as URLs of a loopback server, or inline as data URIs"
    )


class SuggestionOut(BaseModel):
    rank: int
    image_id: int
    file: str
    state: ImageStateName
    utility: float
    predicted: str | None
    score: float | None


class NextOut(BaseModel):
    model: str | None = Field(description="The model whose uncertainty ranked them; null: none")
    items: list[SuggestionOut]
    ranked_from: int = Field(description="Open images ranked (a request ranks at most 2,000)")
    open_images: int = Field(description="Open (unlabeled or to be confirmed) images in all")


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str

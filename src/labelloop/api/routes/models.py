"""The model registry, read-only here: versions trained by jobs, uploaded or remote."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from labelloop.services import models as model_service

from ..deps import Context
from ..schemas import ModelOut, TaskTypeName

router = APIRouter(prefix="/models", tags=["models"])


@router.get("", response_model=list[ModelOut])
def list_models(
    ctx: Context,
    task_type: Annotated[
        TaskTypeName | None, Query(description="Only models for this task type")
    ] = None,
) -> list[ModelOut]:
    return [ModelOut.from_model(m) for m in model_service.list_models(ctx, task_type)]


@router.get("/{model_ref}", response_model=ModelOut)
def show_model(ctx: Context, model_ref: str) -> ModelOut:
    """A model by id, NAME (latest version) or NAME:VERSION."""
    return ModelOut.from_model(model_service.get_model(ctx, model_ref))

"""Read-only view of the model registry for the web app: list and show model versions.

The registry's write side (ONNX upload, remote endpoints, export) lives in ``services.models``;
reading needs no more than the repository, and keeping it here lets the web app list models
whatever else the registry grows.
"""

from __future__ import annotations

from labelloop.domain.models import Model
from labelloop.domain.rules import parse_task_type
from labelloop.storage import models_repo

from .context import AppContext


def list_models(app: AppContext, task_type: str | None = None) -> list[Model]:
    """Every model version, by name then version; only those of ``task_type`` when given."""
    kind = parse_task_type(task_type) if task_type else None
    with app.db.session() as session:
        return models_repo.list_models(session, kind)


def get_model(app: AppContext, ref: str) -> Model:
    """A model by registry id, ``name`` (latest version) or ``name:version``."""
    with app.db.session() as session:
        return models_repo.get_model(session, ref)

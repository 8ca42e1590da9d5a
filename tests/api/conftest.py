"""API fixtures: a TestClient on the app factory over the test database (SQLite, and
PostgreSQL when configured), with a worker starter that runs a small real pipeline in-process."""

from __future__ import annotations

import warnings

import pytest

from labelloop.api import create_app
from labelloop.domain import HardReason, HardType, ImageState, TaskType
from labelloop.jobs.runner import run_job
from labelloop.services import datasets
from labelloop.services import jobs as job_service
from labelloop.storage import images_repo

with warnings.catch_warnings():
    # Starlette's TestClient warns that it wraps httpx; the warning is about its future, not us.
    warnings.simplefilter("ignore", UserWarning)
    from fastapi.testclient import TestClient


def alternate_predictions(app, job, reporter):
    """Predicts labels in turn for every open image; every third image is hard.

    Detection: one box per image (false detection on every third), and a hint on the second.
    """
    dataset = datasets.get_dataset(app, job.dataset_id)
    with app.db.session() as session:
        images = images_repo.all_images(
            session, job.dataset_id, [ImageState.UNLABELED, ImageState.TO_CONFIRM]
        )
    names = dataset.label_names()
    reporter.stage("predicting", len(images))
    predictions = []
    for n, image in enumerate(images):
        hard = n % 3 == 0
        label = names[n % len(names)]
        if dataset.task_type is TaskType.CLASSIFICATION:
            prediction = job_service.ImagePrediction(
                image_id=image.id,
                label=label,
                score=0.55 if hard else 0.95,
                hard=hard,
                hard_coefficient=0.8 if hard else 0.1,
                hard_reasons=(HardReason(1, "low confidence"),) if hard else (),
            )
        else:
            box = job_service.PredictedBox(label, 1, 1, image.width / 2, image.height / 2, 0.9)
            hint = job_service.PredictedBox(label, 2, 2, 5, 5, 0.3)
            prediction = job_service.ImagePrediction(
                image_id=image.id,
                boxes=(box,),
                hard=hard,
                hard_type=HardType.FALSE_DETECTION if hard else HardType.NONE,
                hints=(hint,) if n % 3 == 1 else (),
            )
        predictions.append(prediction)
        reporter.update(n + 1)
    return job_service.JobOutcome(predictions=predictions, metrics={"accuracy_cv": 0.9})


def run_in_process(ctx, job_id: int) -> None:
    run_job(ctx, job_id, pipeline=alternate_predictions)


@pytest.fixture
def started_jobs():
    """Job ids whose worker the app asked to start (the worker itself is not run)."""
    return []


@pytest.fixture
def client(settings):
    """Runs each started task to its end inside the request, with ``alternate_predictions``."""
    with TestClient(create_app(settings, start_worker=run_in_process)) as test_client:
        yield test_client


@pytest.fixture
def idle_client(settings, started_jobs):
    """Starts no worker: tasks stay queued (for conflicts and cancel)."""

    def remember(_ctx, job_id: int) -> None:
        started_jobs.append(job_id)

    with TestClient(create_app(settings, start_worker=remember)) as test_client:
        yield test_client


def dataset_id(client, name: str = "pets") -> int:
    return client.get(f"/api/v1/datasets/{name}").json()["id"]


def predict(client, name: str = "pets") -> dict:
    """Run a smart-labeling task (in-process) and return its final state."""
    response = client.post(f"/api/v1/datasets/{name}/tasks", json={"task_type": "auto-label"})
    assert response.status_code == 201, response.text
    return response.json()


def register_model(app, name: str, task_type: str, class_names: list[str]):
    """A registry entry (no weights: the test pipelines never load it)."""
    from labelloop.storage import models_repo

    with app.db.session() as session:
        return models_repo.add_model(
            session,
            name=name,
            task_type=TaskType(task_type),
            source="onnx",
            class_names=class_names,
            metrics={"map50": 0.5},
            config={},
            path=None,
        )

"""Active learning on a classification dataset, end to end on the real backbone and heads:
jobs in-process and in a worker process (progress, SIGKILL recovery), the loop, label-next."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from typer.testing import CliRunner

from labelloop.cli import app as cli_app
from labelloop.domain import ImageState, JobState, PreconditionFailed
from labelloop.jobs.runner import run_job, spawn_worker
from labelloop.services import annotating, browsing, datasets
from labelloop.services import jobs as job_service
from labelloop.services.query import next_to_label
from labelloop.storage import models_repo
from seeding import seed_classification

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


def open_predictions(app, name="pets"):
    page = browsing.list_images(app, name, state="to_confirm", limit=1000)
    return {v.image.id: v.prediction for v in page.items}


@pytest.mark.parametrize("algorithm", ["fast", "accurate"])
def test_job_labels_every_open_image_and_saves_a_model(app, tmp_path, algorithm):
    ids = seed_classification(
        app, tmp_path, labeled={"red": 6, "green": 6, "blue": 6}, unlabeled=12
    )
    job = job_service.start_job(app, "pets", "auto-label", {"algorithm": algorithm})
    done = run_job(app, job.id)
    assert done.state is JobState.SUCCEEDED, done.error
    counts = datasets.dataset_overview(app, "pets").counts
    assert counts == {"unlabeled": 0, "to_confirm": 12, "labeled": 18, "total": 30}
    predictions = open_predictions(app)
    # seeding gives unlabeled image i the colour of label i % 3
    truth = {image_id: ["red", "green", "blue"][i % 3] for i, image_id in enumerate(ids[""])}
    right = sum(predictions[i].label == truth[i] for i in truth)
    assert right >= 11, {i: (predictions[i].label, truth[i]) for i in truth}
    for p in predictions.values():
        assert 0.0 <= p.hard_coefficient <= 1.0 and 0.0 <= p.score <= 1.0
        assert p.model_version and p.job_id == job.id
    assert done.metrics["algorithm"] == algorithm
    assert done.metrics["labeled_images"] == 18 and done.metrics["predicted_images"] == 12
    assert 0.0 <= done.metrics["hard_threshold"] <= 1.0
    with app.db.session() as session:
        models = models_repo.list_models(session)
    assert [m.ref for m in models] == ["pets-classifier:1"]
    assert models[0].class_names == ("red", "green", "blue")
    assert done.result["model"]["version"] == 1


def test_second_job_embeds_nothing_and_trains_on_what_was_confirmed(app, tmp_path):
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=8)
    first = run_job(app, job_service.start_job(app, "pets", "auto-label").id)
    assert first.metrics["embedded_now"] == 18
    confirmed = annotating.confirm(app, "pets", everything=True)
    assert len(confirmed.changed) == 8
    with pytest.raises(PreconditionFailed, match="no unlabeled"):
        job_service.start_job(app, "pets", "auto-label")
    annotating.clear(app, "pets", [str(i) for i in confirmed.changed[:2]])
    second = run_job(app, job_service.start_job(app, "pets", "auto-label").id)
    assert second.state is JobState.SUCCEEDED, second.error
    assert second.metrics["embedded_now"] == 0
    assert second.metrics["labeled_images"] == 16
    with app.db.session() as session:
        assert [m.ref for m in models_repo.list_models(session)] == [
            "pets-classifier:1",
            "pets-classifier:2",
        ]


def test_a_worker_killed_with_sigkill_leaves_the_dataset_as_it_was(app, tmp_path):
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=300)
    job = job_service.start_job(app, "pets", "auto-label")
    worker = spawn_worker(app, job.id)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        current = job_service.get_job(app, job.id)
        if current.stage.startswith("embedding"):
            break
        assert current.state.active, current.error
        time.sleep(0.05)
    else:
        pytest.fail("the worker never reached the embedding stage")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert datasets.dataset_overview(app, "pets").counts["to_confirm"] == 0
    again = job_service.start_job(app, "pets", "auto-label")  # the next start recovers
    assert job_service.get_job(app, job.id).state is JobState.INTERRUPTED
    assert again.state is JobState.QUEUED
    assert datasets.dataset_overview(app, "pets").counts == {
        "unlabeled": 300,
        "to_confirm": 0,
        "labeled": 10,
        "total": 310,
    }


def test_cli_smart_label_wait_and_job_show(cli_env, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=4)
    runner = CliRunner()
    result = runner.invoke(
        cli_app,
        ["smart-label", "pets", "--type", "active", "--algorithm", "accurate", "--wait", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    job = json.loads(result.stdout)
    assert job["state"] == "succeeded" and job["done"] <= job["total"]
    shown = json.loads(runner.invoke(cli_app, ["job", "show", str(job["id"]), "--json"]).stdout)
    assert shown["metrics"]["algorithm"] == "accurate"
    refused = runner.invoke(cli_app, ["smart-label", "pets", "--algorithm", "slow"])
    assert refused.exit_code == 1 and "slow" in refused.stderr


def test_cli_reports_failed_preconditions(cli_env, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 3}, unlabeled=2)
    result = CliRunner().invoke(cli_app, ["smart-label", "pets"])
    assert result.exit_code == 1
    assert "label 'green' has 3 labeled image(s); it needs at least 5" in result.stderr


def test_next_ranks_open_images_without_and_with_a_model(app, tmp_path):
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=10)
    cold = next_to_label(app, "pets", 4)
    assert cold.model is None and len(cold.suggestions) == 4
    assert len({s.image.id for s in cold.suggestions}) == 4
    run_job(app, job_service.start_job(app, "pets", "auto-label").id)
    warm = next_to_label(app, "pets", 3)
    assert warm.model == "pets-classifier:1"
    assert all(s.image.state is ImageState.TO_CONFIRM and s.predicted for s in warm.suggestions)


def test_next_bounds_its_work_per_request(app, tmp_path, monkeypatch):
    # The ranking runs inside a web request: it embeds at most COMPUTE_MAX new images and ranks
    # at most POOL_MAX, cached images first, so a 100k-image dataset does not stall it.
    from labelloop.services import query
    from labelloop.services.features import embedded_already
    from labelloop.storage import datasets_repo, images_repo

    monkeypatch.setattr(query, "POOL_MAX", 6)
    monkeypatch.setattr(query, "COMPUTE_MAX", 4)
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=10)
    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, "pets")
        everything = images_repo.all_images(session, ds.id, list(ImageState))

    first = query.next_to_label(app, "pets", 3)
    assert (first.ranked_from, first.open_images) == (4, 10)
    assert len(embedded_already(app, everything)) == 4  # the whole budget, nothing more
    second = query.next_to_label(app, "pets", 3)
    assert second.ranked_from == 6  # the 4 cached ones, then 2 new (the pool is full)
    # 2 more open images fill the pool; the 2 left of the budget go to labeled images.
    assert len(embedded_already(app, everything)) == 8
    assert len(second.suggestions) == 3 and {s.image.state for s in second.suggestions} == {
        ImageState.UNLABELED
    }

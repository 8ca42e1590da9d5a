"""The job machinery: preconditions, one active job per dataset, atomic publish, cancel,
failure, crash recovery. Pipelines here are small real functions handed to the runner."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from labelloop.domain import (
    ImageState,
    InvalidInput,
    JobConflict,
    JobKind,
    JobState,
    PreconditionFailed,
)
from labelloop.jobs.runner import run_job
from labelloop.services import annotating, browsing, datasets
from labelloop.services import jobs as job_service
from labelloop.storage import images_repo, jobs_repo
from seeding import seed_classification


def predict_first_label(app, job, reporter):
    """Labels every open image with the dataset's first label; flags every second one hard."""
    with app.db.session() as session:
        ids = images_repo.image_ids(session, job.dataset_id, ImageState.UNLABELED)
        ids += images_repo.image_ids(session, job.dataset_id, ImageState.TO_CONFIRM)
    first = datasets.get_dataset(app, job.dataset_id).labels[0].name
    reporter.stage("predicting", len(ids))
    predictions = []
    for n, image_id in enumerate(ids, 1):
        predictions.append(
            job_service.ImagePrediction(
                image_id=image_id, label=first, score=0.9, hard=n % 2 == 0, hard_coefficient=0.5
            )
        )
        reporter.update(n)
    return job_service.JobOutcome(predictions=predictions, metrics={"n": len(ids)})


def states(app, name="pets"):
    """Counts by state; also checks the kept counters against a recount of the images."""
    overview = datasets.dataset_overview(app, name)
    with app.db.session() as session:
        recounted = images_repo.recount(session, overview.dataset.id)
    assert {s.value: n for s, n in recounted.items()} == {
        k: v for k, v in overview.counts.items() if k != "total"
    }
    return overview.counts


def test_preconditions_each_reason(app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 2}, unlabeled=0)
    with pytest.raises(PreconditionFailed) as err:
        job_service.start_job(app, "pets", "auto-label", {"algorithm": "fast"})
    assert err.value.reasons == [
        "label 'dog' has 2 labeled image(s); it needs at least 5",
        "the dataset has no unlabeled images to label",
    ]


def test_unknown_algorithm_is_refused(app, tmp_path):
    seed_classification(app, tmp_path)
    with pytest.raises(InvalidInput, match="slow"):
        job_service.start_job(app, "pets", "auto-label", {"algorithm": "slow"})


def test_second_start_while_one_runs_names_the_running_job(app, tmp_path):
    seed_classification(app, tmp_path)
    first = job_service.start_job(app, "pets", "auto-label")
    with pytest.raises(PreconditionFailed, match=f"job {first.id}"):
        job_service.start_job(app, "pets", "auto-label")


def test_the_database_allows_one_active_job_even_when_checks_race(app, tmp_path):
    """Two starts that both passed the precondition check: the unique index picks one."""
    seed_classification(app, tmp_path)
    dataset_id = datasets.get_dataset(app, "pets").id
    results: list[object] = []
    barrier = threading.Barrier(2)

    def start():
        barrier.wait()
        try:
            with app.db.session() as session:
                results.append(jobs_repo.create_job(session, dataset_id, JobKind.AUTO_LABEL, {}))
        except JobConflict as exc:
            results.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conflicts = [r for r in results if isinstance(r, JobConflict)]
    assert len(conflicts) == 1
    assert len(job_service.list_jobs(app, "pets")) == 1


def test_successful_job_publishes_every_open_image(app, tmp_path):
    ids = seed_classification(app, tmp_path, unlabeled=6)
    job = job_service.start_job(app, "pets", "auto-label")
    done = run_job(app, job.id, predict_first_label)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result["published"] == 6
    assert states(app) == {"unlabeled": 0, "to_confirm": 6, "labeled": 10, "total": 16}
    view = browsing.get_image(app, "pets", str(ids[""][0]))
    assert view.prediction.label == "cat" and view.prediction.job_id == job.id
    # labeled images are never touched
    labeled = browsing.get_image(app, "pets", str(ids["dog"][0]))
    assert labeled.annotation.label == "dog" and labeled.prediction is None


def test_failing_job_changes_nothing(app, tmp_path):
    seed_classification(app, tmp_path)

    def crash_halfway(app, job, reporter):
        predict_first_label(app, job, reporter)
        raise RuntimeError("disk on fire")

    job = job_service.start_job(app, "pets", "auto-label")
    done = run_job(app, job.id, crash_halfway)
    assert done.state is JobState.FAILED
    assert "disk on fire" in done.error
    assert states(app)["to_confirm"] == 0 and states(app)["unlabeled"] == 4
    # the dataset is free for the next job
    assert job_service.start_job(app, "pets", "auto-label").state is JobState.QUEUED


def test_cancel_during_work_publishes_nothing(app, tmp_path):
    seed_classification(app, tmp_path)

    def cancel_then_continue(app, job, reporter):
        reporter.stage("working", 3)
        job_service.cancel_job(app, job.id)  # as if another process asked
        reporter.check_cancel()
        raise AssertionError("check_cancel should have stopped the job")

    job = job_service.start_job(app, "pets", "auto-label")
    done = run_job(app, job.id, cancel_then_continue)
    assert done.state is JobState.CANCELLED
    assert states(app)["to_confirm"] == 0


def test_cancel_after_work_but_before_publish_publishes_nothing(app, tmp_path):
    seed_classification(app, tmp_path)

    def cancel_at_the_end(app, job, reporter):
        outcome = predict_first_label(app, job, reporter)
        job_service.cancel_job(app, job.id)
        return outcome

    job = job_service.start_job(app, "pets", "auto-label")
    assert run_job(app, job.id, cancel_at_the_end).state is JobState.CANCELLED
    assert states(app)["to_confirm"] == 0


def test_cancel_a_queued_job(app, tmp_path):
    seed_classification(app, tmp_path)
    job = job_service.start_job(app, "pets", "auto-label")
    assert job_service.cancel_job(app, job.id).state is JobState.CANCELLED
    assert run_job(app, job.id, predict_first_label).state is JobState.CANCELLED


def test_image_labeled_while_the_job_ran_keeps_its_label(app, tmp_path):
    ids = seed_classification(app, tmp_path)
    target = ids[""][0]

    def person_labels_meanwhile(app, job, reporter):
        outcome = predict_first_label(app, job, reporter)
        annotating.annotate(app, "pets", str(target), label="dog")
        return outcome

    job = job_service.start_job(app, "pets", "auto-label")
    done = run_job(app, job.id, person_labels_meanwhile)
    assert done.state is JobState.SUCCEEDED
    assert done.result["skipped_labeled_meanwhile"] == 1
    view = browsing.get_image(app, "pets", str(target))
    assert view.image.state is ImageState.LABELED and view.annotation.label == "dog"


def test_a_killed_worker_is_marked_interrupted_at_the_next_start(app, tmp_path):
    seed_classification(app, tmp_path)
    job = job_service.start_job(app, "pets", "auto-label")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with app.db.session() as session:
        jobs_repo.mark_running(session, job.id, dead.pid)
    second = job_service.start_job(app, "pets", "auto-label")
    assert job_service.get_job(app, job.id).state is JobState.INTERRUPTED
    assert "interrupted" in job_service.get_job(app, job.id).error
    assert second.state is JobState.QUEUED
    assert states(app)["to_confirm"] == 0


def test_confirm_reject_and_rerun_loop(app, tmp_path):
    ids = seed_classification(app, tmp_path, unlabeled=4)
    job = job_service.start_job(app, "pets", "auto-label")
    run_job(app, job.id, predict_first_label)
    result = annotating.confirm(app, "pets", all_not_hard=True)
    assert len(result.changed) == 2
    rejected = annotating.reject(app, "pets", [str(ids[""][1])])
    assert rejected.changed == [ids[""][1]]
    assert states(app) == {"unlabeled": 1, "to_confirm": 1, "labeled": 12, "total": 14}
    # the next job re-predicts what is open, including the still-unconfirmed image
    job2 = job_service.start_job(app, "pets", "auto-label")
    assert run_job(app, job2.id, predict_first_label).result["published"] == 2
    assert annotating.confirm(app, "pets", everything=True).changed
    assert states(app) == {"unlabeled": 0, "to_confirm": 0, "labeled": 14, "total": 14}

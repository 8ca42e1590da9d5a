"""Pre-label jobs with a remote model: a real Label Studio ML backend on 127.0.0.1, reached by
URL (job-scoped loopback image server) or data URIs; down, slow and malformed endpoints fail
the job clearly and publish nothing."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from ls_backend import FakeBackend
from PIL import Image, ImageOps
from prelabel_support import (
    BLUE,
    GREEN,
    RED,
    add_files,
    colour_dataset,
    predictions,
    prelabel,
    states,
)

from labelloop.domain import HardType, JobState
from labelloop.jobs.runner import run_job, spawn_worker
from labelloop.services import jobs as job_service
from labelloop.services import models

EXIF_ORIENTATION = 0x0112


def register(app, backend, task_type="classification", **settings):
    settings.setdefault("retries", 1)
    remote = models.RemoteSettings(url=backend.url, **settings)
    return models.register_remote(app, "fake", remote, task_type, ["red", "green", "blue"])


def test_classification_through_the_loopback_image_server(app, tmp_path):
    ids = colour_dataset(
        app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN, BLUE, RED]
    )
    with FakeBackend() as backend:
        register(app, backend, batch_size=3)
        job = prelabel(app, "pets", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    # Two requests (3 + 1 tasks), each image fetched by an unguessable loopback URL.
    assert [len(r["tasks"]) for r in backend.requests] == [3, 1]
    config = backend.requests[0]["label_config"]  # for backends that read their control tags
    assert '<Choices name="label" toName="image" choice="single">' in config
    assert '<Choice value="red"/><Choice value="green"/><Choice value="blue"/>' in config
    urls = [t["data"]["image"] for r in backend.requests for t in r["tasks"]]
    assert all(u.startswith("http://127.0.0.1:") and len(u.rsplit("/", 1)[1]) > 32 for u in urls)
    with app.db.session() as session:
        from labelloop.storage import images_repo

        shas = {images_repo.get_image(session, i).sha256 for i in ids}
    assert {hashlib.sha256(b).hexdigest() for b in backend.fetched} == shas
    found = predictions(app, "pets")
    assert [found[i].label for i in (ids[0], ids[1], ids[3])] == ["red", "green", "red"]
    assert ids[2] not in found  # the model said "blue": no dataset label, left unlabeled
    assert job.result["images_left_unlabeled"]["only_unmapped_classes"] == {"blue": 1}
    assert job.result["unmapped_model_classes"] == ["blue"]
    assert job.result["remote_model_versions"] == ["fake-1"]
    assert found[ids[0]].score == pytest.approx(220 / 300, abs=0.01)
    assert not found[ids[0]].hard
    assert states(app, "pets") == {"unlabeled": 1, "to_confirm": 3, "labeled": 0}


def test_low_scores_are_flagged_hard_and_data_uris_work(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(score=0.4) as backend:
        register(app, backend, image_transport="data-uri")
        job = prelabel(app, "pets", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    assert all(t["data"]["image"].startswith("data:image/png;base64,") for t in
               backend.requests[0]["tasks"])  # fmt: skip
    found = predictions(app, "pets").values()
    assert all(p.hard and "top probability 0.40" in p.hard_reasons[0].text for p in found)


def test_detection_boxes_from_percent_to_pixels(app, tmp_path):
    ids = colour_dataset(
        app, tmp_path, "cells", "detection", ["red", "Green"], [RED, GREEN], size=(200, 100)
    )
    with FakeBackend("detection", box_percent=(10.0, 20.0, 50.0, 40.0)) as backend:
        register(app, backend, "detection")
        job = prelabel(app, "cells", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    assert "<RectangleLabels" in backend.requests[0]["label_config"]
    red, green = (predictions(app, "cells")[i] for i in ids)
    (box,) = red.boxes
    assert (box.label, box.x, box.y, box.w, box.h) == ("red", 20.0, 20.0, 100.0, 40.0)
    assert red.hard_type is HardType.NONE  # score 0.73: P(box wrong) 0.27 < 0.3
    assert green.boxes[0].label == "Green"
    assert green.hard_type is HardType.FALSE_DETECTION  # P(box wrong) 0.33 >= 0.3


def assert_failed_cleanly(app, job, message: str, dataset: str = "pets"):
    assert job.state is JobState.FAILED
    assert message in job.error, job.error
    assert job.error.startswith("remote model fake:1: ")
    assert predictions(app, dataset) == {}
    assert states(app, dataset)["to_confirm"] == 0


@pytest.mark.parametrize("task_type", ["classification", "detection"])
def test_endpoint_down(app, tmp_path, task_type):
    colour_dataset(app, tmp_path, "pets", task_type, ["red", "green"], [RED, GREEN])
    with FakeBackend(task_type) as backend:
        register(app, backend, task_type)
    job = prelabel(app, "pets", "fake")
    assert_failed_cleanly(app, job, "is the model server running?")


@pytest.mark.parametrize("task_type", ["classification", "detection"])
def test_endpoint_too_slow(app, tmp_path, task_type):
    colour_dataset(app, tmp_path, "pets", task_type, ["red", "green"], [RED, GREEN])
    with FakeBackend(task_type, mode="slow", delay=3.0) as backend:
        register(app, backend, task_type, timeout_s=0.5)
        job = prelabel(app, "pets", "fake")
    assert_failed_cleanly(app, job, "timed out after 0.5 s")
    assert len(backend.requests) == 2  # tried once more, then given up


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("malformed", "answered 1 results for 2 tasks"),
        ("not-json", "did not answer JSON: <html>proxy error</html>"),
        ("error", "answered HTTP 500 2 times: model crashed"),
        ("bad-box", "leaves the image"),
    ],
)
def test_garbage_answers(app, tmp_path, mode, message):
    task_type = "detection" if mode == "bad-box" else "classification"
    colour_dataset(app, tmp_path, "pets", task_type, ["red", "green"], [RED, GREEN])
    with FakeBackend(task_type, mode=mode) as backend:
        register(app, backend, task_type)
        job = prelabel(app, "pets", "fake")
    assert_failed_cleanly(app, job, message)


def test_failure_after_some_batches_publishes_nothing(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN] * 3)
    with FakeBackend(mode="break-after", failures=2) as backend:
        register(app, backend, batch_size=2)
        job = prelabel(app, "pets", "fake")
    assert len(backend.requests) == 4  # two answered, the third failed and was retried once
    assert_failed_cleanly(app, job, "model crashed mid-job")


@pytest.mark.parametrize("task_type", ["classification", "detection"])
def test_a_backend_that_loads_its_model_on_the_first_predict_succeeds(app, tmp_path, task_type):
    ids = colour_dataset(app, tmp_path, "pets", task_type, ["red", "green"], [RED, GREEN])
    with FakeBackend(task_type, mode="slow-first", delay=3.0, failures=1) as backend:
        register(app, backend, task_type, timeout_s=0.5)
        job = prelabel(app, "pets", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    assert len(backend.requests) == 2  # the first timed out, the second was answered
    assert set(predictions(app, "pets")) == set(ids)


def test_too_many_requests_is_retried_after_what_retry_after_asks(app, tmp_path):
    ids = colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(mode="busy", failures=1, busy_status=429, retry_after="1") as backend:
        register(app, backend)
        job = prelabel(app, "pets", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    first, second = backend.request_times
    assert second - first >= 0.95  # Retry-After: 1, not the 0.5 s backoff
    assert [predictions(app, "pets")[i].label for i in ids] == ["red", "green"]


def test_cancel_during_a_slow_request_ends_the_job_quickly(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(mode="slow", delay=30.0) as backend:
        register(app, backend, timeout_s=60)
        job = job_service.start_job(app, "pets", "pre-label", {"model": "fake"})
        finished = {}
        worker = threading.Thread(target=lambda: finished.update(job=run_job(app, job.id)))
        worker.start()
        wait_for(lambda: backend.requests, "the /predict request")
        asked = time.monotonic()
        job_service.cancel_job(app, job.id)
        worker.join(timeout=15)
        took = time.monotonic() - asked
    assert not worker.is_alive()
    assert took < 10, f"cancel took {took:.1f} s with a request that answers after 30 s"
    assert finished["job"].state is JobState.CANCELLED
    assert predictions(app, "pets") == {}
    assert states(app, "pets")["unlabeled"] == 2


def wait_for(condition, what: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.02)


@pytest.mark.parametrize("task_type", ["classification", "detection"])
def test_classes_the_model_never_declared_are_reported(app, tmp_path, task_type):
    ids = colour_dataset(app, tmp_path, "pets", task_type, ["red", "green"], [RED, GREEN, BLUE])
    with FakeBackend(task_type, class_names=("red", "green", "violet")) as backend:
        register(app, backend, task_type)  # declares red, green, blue
        job = prelabel(app, "pets", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    assert job.result["answered_undeclared_classes"] == {"violet": 1}
    assert ids[2] not in predictions(app, "pets") or not predictions(app, "pets")[ids[2]].boxes
    if task_type == "classification":
        assert job.result["images_left_unlabeled"]["only_unmapped_classes"] == {"violet": 1}
    else:
        assert job.result["boxes_of_unmapped_classes"] == {"violet": 1}


def rotated_jpeg(path: Path) -> Path:
    """A 60x40 JPEG stored sideways (EXIF orientation 6: shown turned 90 degrees clockwise, as
    40x60), green on its left third, which is the top as displayed."""
    img = Image.new("RGB", (60, 40), RED)
    img.paste(GREEN, (0, 0, 20, 40))
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return path


@pytest.mark.parametrize("transport", ["http", "data-uri"])
def test_an_exif_rotated_photo_is_sent_as_displayed(app, tmp_path, transport):
    colour_dataset(app, tmp_path, "cells", "detection", ["red", "green"], [])
    source = rotated_jpeg(tmp_path / "phone.jpg")
    (image_id,) = add_files(app, "cells", [source], [None])
    with FakeBackend("detection", box_percent=(10.0, 20.0, 50.0, 40.0)) as backend:
        register(app, backend, "detection", image_transport=transport)
        job = prelabel(app, "cells", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    (sent,) = backend.fetched
    with Image.open(io.BytesIO(sent)) as img:
        assert img.size == (40, 60)  # displayed, not stored, width and height
        assert img.getexif().get(EXIF_ORIENTATION, 1) == 1  # not turned twice by a viewer
        pixels = np.asarray(img.convert("RGB"), dtype=np.float64)
    with Image.open(source) as original:
        shown = np.asarray(ImageOps.exif_transpose(original).convert("RGB"), dtype=np.float64)
    assert np.abs(pixels - shown).mean() < 3
    assert pixels[:15].mean(axis=(0, 1)).argmax() == 1  # green on top, as displayed
    (box,) = predictions(app, "cells")[image_id].boxes
    # 10/20/50/40 percent of the displayed 40x60 image; the model saw green on top, red below.
    assert (box.x, box.y, box.w, box.h) == (4.0, 12.0, 20.0, 24.0)


def test_boxes_drawn_on_an_image_of_another_shape_fail_that_image(app, tmp_path):
    (plain,) = colour_dataset(app, tmp_path, "cells", "detection", ["red", "green"], [RED])
    (turned,) = add_files(app, "cells", [rotated_jpeg(tmp_path / "phone.jpg")], [None])
    # The backend says it drew on a 120x80 image: the plain 60x40 one scaled (same shape,
    # fine), but not the 40x60 photo as displayed.
    with FakeBackend("detection", original_size=(120, 80)) as backend:
        register(app, backend, "detection")
        job = prelabel(app, "cells", "fake")
    assert job.state is JobState.SUCCEEDED, job.error
    assert set(predictions(app, "cells")) == {plain}
    assert job.result["failed_count"] == 1
    (failed,) = job.result["failed_images"]
    assert failed["image"] == turned
    assert "on a 120x80 image, but the image is 40x60 as displayed" in failed["reason"]
    colour_dataset(app, tmp_path, "phones", "detection", ["red", "green"], [])
    add_files(app, "phones", [rotated_jpeg(tmp_path / "phone2.jpg")], [None])
    with FakeBackend("detection", original_size=(60, 40)) as backend:  # stored, not displayed
        register(app, backend, "detection")
        job = prelabel(app, "phones", "fake:2")
    assert job.state is JobState.FAILED  # no image left to pre-label: the job says why
    assert "on a 60x40 image, but the image is 40x60" in job.error
    assert predictions(app, "phones") == {}


def test_a_worker_killed_mid_job_leaves_the_dataset_as_it_was(app, tmp_path):
    """Crash recovery, as for active learning: SIGKILL the worker process while the model is
    answering; the job is marked interrupted, nothing was published, and a new job runs."""
    ids = colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(mode="slow", delay=30.0) as backend:
        register(app, backend, timeout_s=60)
        job = job_service.start_job(app, "pets", "pre-label", {"model": "fake"})
        worker = spawn_worker(app, job.id)
        try:
            wait_for(lambda: backend.requests, "the worker's /predict request", seconds=120)
            assert job_service.get_job(app, job.id).stage == "predicting"
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
    assert predictions(app, "pets") == {}
    assert states(app, "pets") == {"unlabeled": 2, "to_confirm": 0, "labeled": 0}
    interrupted = job_service.get_job(app, job.id)  # reading it recovers it
    assert interrupted.state is JobState.INTERRUPTED
    assert interrupted.error == "interrupted: its worker process is gone"
    with FakeBackend() as backend:
        register(app, backend)
        again = prelabel(app, "pets", "fake:2")
    assert again.state is JobState.SUCCEEDED, again.error
    assert [predictions(app, "pets")[i].label for i in ids] == ["red", "green"]

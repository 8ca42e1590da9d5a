"""Pre-label jobs with a remote model: a real Label Studio ML backend on 127.0.0.1, reached by
URL (job-scoped loopback image server) or data URIs; down, slow and malformed endpoints fail
the job clearly and publish nothing."""

from __future__ import annotations

import hashlib

import pytest
from ls_backend import FakeBackend
from prelabel_support import BLUE, GREEN, RED, colour_dataset, predictions, prelabel, states

from labelloop.domain import HardType, JobState
from labelloop.services import models


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
    assert red.hard_type is HardType.NONE  # score 0.73
    assert green.boxes[0].label == "Green"
    assert green.hard_type is HardType.FALSE_DETECTION  # score 0.67 < 0.7


def assert_failed_cleanly(app, job, message: str, dataset: str = "pets"):
    assert job.state is JobState.FAILED
    assert message in job.error, job.error
    assert job.error.startswith("remote model fake:1: ")
    assert predictions(app, dataset) == {}
    assert states(app, dataset)["to_confirm"] == 0


def test_endpoint_down(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend() as backend:
        register(app, backend)
    job = prelabel(app, "pets", "fake")
    assert_failed_cleanly(app, job, "is the model server running?")


def test_endpoint_too_slow(app, tmp_path):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(mode="slow", delay=3.0) as backend:
        register(app, backend, timeout_s=0.5)
        job = prelabel(app, "pets", "fake")
    assert_failed_cleanly(app, job, "timed out after 0.5 s")


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

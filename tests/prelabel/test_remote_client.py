"""ml.runtime.remote and image_server against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import base64
import io
import socket
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import numpy as np
import pytest
from ls_backend import FakeBackend
from PIL import Image

from labelloop.ml.features import Cancelled
from labelloop.ml.runtime.image_server import ImageServer, data_uri
from labelloop.ml.runtime.remote import (
    RemoteAnswerInvalid,
    RemoteModelClient,
    RemoteUnavailable,
    parse_predictions,
    retry_after,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def images(tmp_path):
    paths = {}
    for key, colour in {1: (220, 40, 40), 2: (40, 200, 60), 3: (40, 60, 220)}.items():
        paths[key] = tmp_path / f"{key}.png"
        Image.new("RGB", (20, 10), colour).save(paths[key])
    return paths


def test_image_server_serves_only_its_files_under_unguessable_paths(images, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    files = {k: (p, "PNG") for k, p in images.items()}
    with ImageServer(files) as server:
        url = server.url_for(1)
        assert url.startswith("http://127.0.0.1:") and url.endswith(".png")
        assert len(url.rsplit("/", 1)[1]) >= 32
        with urllib.request.urlopen(url) as response:
            assert response.read() == images[1].read_bytes()
            assert response.headers["Content-Type"] == "image/png"
        for probe in ("/", "/secret.txt", "/../secret.txt", "/" + url.rsplit("/", 1)[1][:-5]):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(server.base_url + probe)
            assert err.value.code == 404
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)  # gone once the job is done


def test_a_photo_with_exif_orientation_is_served_turned_as_displayed(tmp_path):
    path = tmp_path / "phone.jpg"
    stored = Image.new("RGB", (60, 40), (220, 40, 40))
    stored.paste((40, 200, 60), (0, 0, 20, 40))  # green left third: the top once turned
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    stored.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    with ImageServer({1: (path, "JPEG")}) as server:
        with urllib.request.urlopen(server.url_for(1)) as response:
            body = response.read()
            assert int(response.headers["Content-Length"]) == len(body)
        head = urllib.request.Request(server.url_for(1), method="HEAD")
        with urllib.request.urlopen(head) as response:
            assert int(response.headers["Content-Length"]) == len(body)
    uri = data_uri(path, "JPEG")
    assert uri.startswith("data:image/jpeg;base64,")
    for data in (body, base64.b64decode(uri.split(",", 1)[1])):
        with Image.open(io.BytesIO(data)) as img:
            assert img.format == "JPEG" and img.size == (40, 60)
            assert img.getexif().get(0x0112, 1) == 1
            top = np.asarray(img.convert("RGB"))[:15].mean(axis=(0, 1))
            assert top.argmax() == 1  # green


def test_classification_batches_through_urls_and_data_uris(images):
    with (
        FakeBackend() as backend,
        RemoteModelClient(backend.url, "classification", batch_size=2) as client,
    ):
        assert client.health()["status"] == "UP"
        files = {k: (p, "PNG") for k, p in images.items()}
        seen = []
        with ImageServer(files) as server:
            answers = client.predict_all(
                [1, 2, 3], server.url_for, progress=lambda d, t: seen.append((d, t))
            )
        assert [a.choices[0].label for a in answers] == ["red", "green", "blue"]
        assert all(0 < a.choices[0].score <= 1 for a in answers)
        assert [len(r["tasks"]) for r in backend.requests] == [2, 1]
        assert backend.requests[0]["tasks"][0]["id"] == 1
        assert seen == [(2, 3), (3, 3)]
        answers = client.predict_all([3], lambda k: data_uri(images[k], "PNG"))
        assert answers[0].choices[0].label == "blue"
        assert backend.fetched[-1] == images[3].read_bytes()
        with pytest.raises(Cancelled):
            client.predict_all([1], server.url_for, should_cancel=lambda: True)


def test_detection_answers_in_percent(images):
    with FakeBackend("detection") as backend, RemoteModelClient(backend.url, "detection") as c:
        (answer,) = c.predict([(1, data_uri(images[1], "PNG"))])
    box = answer.boxes[0]
    assert (box.label, box.x, box.y, box.width, box.height) == ("red", 10, 20, 50, 40)
    assert answer.model_version == "fake-1"


def test_down_endpoint_is_retried_with_backoff_then_reported():
    sleeps = []
    url = f"http://127.0.0.1:{free_port()}"
    client = RemoteModelClient(url, "classification", retries=2, backoff=0.1, sleep=sleeps.append)
    with pytest.raises(
        RemoteUnavailable, match=r"failed after 3 tries.*is the model server running"
    ):
        client.health()
    assert sleeps == [0.1, 0.2]


def test_5xx_is_retried_and_recovers(images):
    sleeps = []
    with FakeBackend(mode="flaky", failures=2) as backend:
        client = RemoteModelClient(backend.url, "classification", sleep=sleeps.append)
        (answer,) = client.predict([(1, data_uri(images[1], "PNG"))])
    assert answer.choices[0].label == "red"
    assert len(sleeps) == 2


def test_5xx_that_persists_and_timeouts_are_unavailable(images):
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="error") as backend:
        client = RemoteModelClient(backend.url, "classification", retries=1, sleep=lambda s: None)
        with pytest.raises(RemoteUnavailable, match="HTTP 500 2 times: model crashed"):
            client.predict([(1, uri)])
    with FakeBackend(mode="slow", delay=2.0) as backend:
        sleeps = []
        client = RemoteModelClient(backend.url, "classification", timeout=0.3, sleep=sleeps.append)
        with pytest.raises(RemoteUnavailable, match=r"timed out after 0\.3 s .*\(2 tries\)"):
            client.predict([(1, uri)])
        # A read timeout is tried once more (after the backoff), not three times more.
        assert len(backend.requests) == 2 and sleeps == [0.5]


def test_a_model_loaded_on_the_first_predict_answers_the_second_try(images):
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="slow-first", delay=3.0, failures=1) as backend:
        client = RemoteModelClient(backend.url, "classification", timeout=0.5, backoff=0.1)
        started = time.monotonic()
        (answer,) = client.predict([(1, uri)])
        assert answer.choices[0].label == "red"
        assert len(backend.requests) == 2
        assert time.monotonic() - started < 2.5  # one timeout and a backoff, not the 3 s


@pytest.mark.parametrize(
    ("status", "header", "expected_wait"),
    [
        (429, "2", 2.0),
        (503, "1.5", 1.5),
        (429, "3600", 30.0),  # capped at MAX_RETRY_AFTER
        (429, None, 0.5),  # no header: the backoff
        (503, "soon", 0.5),  # unreadable: the backoff
    ],
)
def test_busy_answers_are_retried_after_what_retry_after_asks(
    images, status, header, expected_wait
):
    sleeps = []
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="busy", failures=1, busy_status=status, retry_after=header) as backend:
        client = RemoteModelClient(backend.url, "classification", sleep=sleeps.append)
        (answer,) = client.predict([(1, uri)])
    assert answer.choices[0].label == "red"
    assert sleeps == [pytest.approx(expected_wait)]


def test_retry_after_as_an_http_date_and_busy_for_good(images):
    later = datetime.now(UTC) + timedelta(seconds=20)
    response = httpx.Response(429, headers={"Retry-After": format_datetime(later, usegmt=True)})
    assert 18 <= retry_after(response) <= 20
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="busy", failures=99, retry_after="0") as backend:
        client = RemoteModelClient(backend.url, "classification", retries=2)
        with pytest.raises(RemoteUnavailable, match="answered HTTP 429 3 times: busy"):
            client.predict([(1, uri)])


def test_a_wait_beyond_the_total_time_gives_up_at_once(images):
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="busy", failures=1, retry_after="20") as backend:
        client = RemoteModelClient(backend.url, "classification", timeout=1.0, total_timeout=5.0)
        started = time.monotonic()
        with pytest.raises(
            RemoteUnavailable,
            match=r"after 1 try \(HTTP 429: busy.*\): another try 20 s later would pass the 5 s",
        ):
            client.predict([(1, uri)])
        assert time.monotonic() - started < 2


def cancel_after(seconds: float):
    deadline = time.monotonic() + seconds
    return lambda: time.monotonic() >= deadline


def test_cancel_stops_a_request_in_flight_and_a_wait_between_tries(images):
    uri = data_uri(images[1], "PNG")
    with FakeBackend(mode="slow", delay=30.0) as backend:
        client = RemoteModelClient(backend.url, "classification", timeout=60)
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client.predict([(1, uri)], should_cancel=cancel_after(0.5))
        assert time.monotonic() - started < 3
        assert len(backend.requests) == 1
    with FakeBackend(mode="busy", failures=1, retry_after="25") as backend:
        client = RemoteModelClient(backend.url, "classification")
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client.predict([(1, uri)], should_cancel=cancel_after(0.5))
        assert time.monotonic() - started < 3
        assert len(backend.requests) == 1


def test_garbage_answers_are_invalid(images):
    uri = data_uri(images[1], "PNG")
    for mode, message in [
        ("malformed", 'task 7, item 0: "value" is not an object'),
        ("not-json", "not answer JSON"),
    ]:
        with FakeBackend(mode=mode) as backend:
            client = RemoteModelClient(backend.url, "classification")
            with pytest.raises(RemoteAnswerInvalid, match=message):
                client.predict([(7, uri)])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([], 'not an object with a "results" list'),
        ({"results": []}, "0 results for 1 tasks"),
        ({"results": ["x"]}, "task 5 is not an object"),
        ({"results": [{"result": {}}]}, '"result" is not a list'),
        ({"results": [{"result": [{"value": {}}]}]}, 'item 0 is not an object with a "type"'),
        ({"results": [{"result": [{"type": "rectanglelabels"}]}]}, '"value" is not an object'),
        (
            {"results": [{"result": [_box := {"type": "rectanglelabels", "value": {"x": "1"}}]}]},
            '"x" is not a number',
        ),
    ],
)
def test_answer_shape_is_checked_strictly(answer, message):
    with pytest.raises(RemoteAnswerInvalid, match=message):
        parse_predictions(answer, [5], "detection")


def _rect(**value):
    base = {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": 0, "rectanglelabels": ["a"]}
    return {"results": [{"result": [{"type": "rectanglelabels", "value": {**base, **value}}]}]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": 95}, "leaves the image"),
        ({"width": 0}, "must be positive"),
        ({"rotation": 30}, "rotated boxes"),
        ({"rectanglelabels": ["a", "b"]}, "exactly one name"),
        ({"rectanglelabels": [""]}, "empty name"),
    ],
)
def test_box_values_are_checked(value, message):
    with pytest.raises(RemoteAnswerInvalid, match=message):
        parse_predictions(_rect(**value), [1], "detection")


def test_original_size_is_kept_when_given():
    answer = _rect()
    item = answer["results"][0]["result"][0]
    (parsed,) = parse_predictions(answer, [1], "detection")
    assert (parsed.boxes[0].original_width, parsed.boxes[0].original_height) == (None, None)
    item.update(original_width=640, original_height=0)  # 0: not said
    (parsed,) = parse_predictions(answer, [1], "detection")
    assert (parsed.boxes[0].original_width, parsed.boxes[0].original_height) == (640.0, None)
    item["original_height"] = "480"
    with pytest.raises(RemoteAnswerInvalid, match="\"original_height\" '480' is not a number"):
        parse_predictions(answer, [1], "detection")


def test_scores_must_be_probabilities_and_other_item_types_are_skipped():
    item = {"type": "choices", "value": {"choices": ["a"]}, "score": 7}
    with pytest.raises(RemoteAnswerInvalid, match="not between 0 and 1"):
        parse_predictions({"results": [{"result": [item]}]}, [1], "classification")
    other = {"type": "textarea", "value": {"text": ["hello"]}}
    (answer,) = parse_predictions({"results": [{"result": [other]}]}, [1], "classification")
    assert answer.choices == ()


def test_class_names_from_setup_when_offered():
    with FakeBackend(setup_classes=["a", "b"]) as backend:
        assert RemoteModelClient(backend.url, "classification").class_names() == ["a", "b"]
    with FakeBackend() as backend:
        assert RemoteModelClient(backend.url, "classification").class_names() is None

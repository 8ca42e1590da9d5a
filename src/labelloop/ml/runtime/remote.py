"""Client of a remote model speaking the Label Studio ML backend protocol.

    GET  /health   -> 200 and a JSON object (e.g. {"status": "UP"})
    POST /predict  {"tasks": [{"id": 1, "data": {"image": URL}}, ...],
                    "label_config": XML, "project": "labelloop"}
                -> {"results": [{"model_version": "...", "score": 0.9, "result": [ITEM, ...]}, ...]}

one result per task, in order. ``label_config`` (sent when the client knows the class names) is
the Label Studio labeling config the answer is expected in — ``<Choices name="label"
toName="image">`` or ``<RectangleLabels ...>`` over ``<Image name="image" value="$image"/>`` —
for backends that read their control tags from it.

ITEM is ``{"type": "choices", "value": {"choices": [name]}, "score": p}`` for classification,
``{"type": "rectanglelabels", "original_width": W, "original_height": H, "value": {"x", "y",
"width", "height" (percent of the image), "rotation": 0, "rectanglelabels": [name]}, "score":
p}`` for boxes. Items of other types (other control tags of the backend's labeling config) are
skipped; an item of the expected type is validated strictly and any deviation is
``RemoteAnswerInvalid`` naming the task and field.

Optional (a labelloop extension, not in the protocol): ``GET /setup`` answering
``{"class_names": [...]}`` or ``{"labels": [...]}`` lists the model's classes.

Boxes may carry ``original_width``/``original_height``: the size of the image the backend
looked at (0 or absent: not said); ``RemoteBox`` keeps them so that the caller can refuse boxes
drawn on an image of another shape.

Retries: a request is tried up to ``1 + retries`` times, waiting ``backoff * 2**attempt``
seconds between tries, or what a ``Retry-After`` header (seconds or an HTTP date) asks on 429
and 503, at most ``MAX_RETRY_AFTER``. Connection errors, 5xx and 429 are retried; a read
timeout is retried ``TIMEOUT_RETRIES`` time(s) (a backend that loads its model on the first
/predict answers the second), not more: a model too slow twice is slow, and every try costs a
full timeout. A request with its retries gives up after ``total_timeout`` seconds (default:
two timeouts plus ``MAX_RETRY_AFTER``); the last try gets only what is left of it.

Cancel: with ``should_cancel`` the request runs in a thread that is abandoned (its connection
closed) when the callback says so, checked every ``CANCEL_POLL`` seconds in flight and between
tries; ``Cancelled`` is raised at once instead of waiting out the timeout.

Failures (all ``RemoteModelError``):
- ``RemoteUnavailable``: the endpoint cannot be reached, times out, or answers 5xx or 429
  after its retries (or asks to wait beyond ``total_timeout``).
- ``RemoteAnswerInvalid``: another 4xx, non-JSON, or JSON of the wrong shape.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import quoteattr

import httpx

from labelloop.ml.features import Cancelled

DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_BATCH_SIZE = 8
TIMEOUT_RETRIES = 1  # read timeouts retried per request (within ``retries``)
MAX_RETRY_AFTER = 30.0  # longest wait a Retry-After header is granted, seconds
CANCEL_POLL = 0.2  # seconds between cancel checks while a request is in flight or waiting
_RATE_LIMITED = (429, 503)  # statuses whose Retry-After is honoured
_TASK_ITEM_TYPES = {"classification": "choices", "detection": "rectanglelabels"}
ORIGINAL_SIZE_KEYS = ("original_width", "original_height")
_PERCENT_SLACK = 0.5  # backends round percentages; a box may overshoot the edge a little


class RemoteModelError(Exception):
    """Base of the remote model's failures; the message says what to check."""


class RemoteUnavailable(RemoteModelError):
    pass


class RemoteAnswerInvalid(RemoteModelError):
    pass


@dataclass(frozen=True)
class RemoteChoice:
    label: str
    score: float | None


@dataclass(frozen=True)
class RemoteBox:
    label: str
    x: float  # percent of the image width, left edge
    y: float  # percent of the image height, top edge
    width: float
    height: float
    score: float | None
    original_width: float | None = None  # the image the backend saw, when it says
    original_height: float | None = None


@dataclass(frozen=True)
class RemoteAnswer:
    choices: tuple[RemoteChoice, ...] = ()
    boxes: tuple[RemoteBox, ...] = ()
    model_version: str | None = None
    score: float | None = None


class RemoteModelClient:
    """Talks to one endpoint; ``close()`` (or ``with``) releases its connections."""

    def __init__(
        self,
        url: str,
        task_type: str,
        *,
        class_names: Sequence[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        batch_size: int = DEFAULT_BATCH_SIZE,
        total_timeout: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if task_type not in _TASK_ITEM_TYPES:
            raise ValueError(f"task_type must be one of {tuple(_TASK_ITEM_TYPES)}")
        if batch_size < 1 or retries < 0 or timeout <= 0:
            raise ValueError("batch_size >= 1, retries >= 0 and timeout > 0 are required")
        self.url = url.rstrip("/")
        self.task_type = task_type
        self.label_config = label_config(task_type, class_names) if class_names else None
        self.retries = retries
        self.backoff = backoff
        self.batch_size = batch_size
        self.total_timeout = (
            total_timeout
            if total_timeout is not None
            else timeout * (1 + TIMEOUT_RETRIES) + MAX_RETRY_AFTER
        )
        self._sleep = sleep
        self._timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._http: httpx.Client | None = None

    def __enter__(self) -> RemoteModelClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=self._timeout, follow_redirects=False)
        return self._http

    # -- requests ----------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        payload: dict | None = None,
        *,
        should_cancel: Callable[[], bool] | None = None,
    ) -> httpx.Response:
        where = f"{method} {self.url}{path}"
        deadline = time.monotonic() + self.total_timeout
        attempt = timeouts = 0
        while True:
            last = attempt >= self.retries
            read = min(self._timeout.read, deadline - time.monotonic())
            try:
                response = self._send(method, path, payload, read, should_cancel)
            except httpx.ReadTimeout:
                timeouts += 1
                if last or timeouts > TIMEOUT_RETRIES:
                    raise RemoteUnavailable(
                        f"{where} timed out after {_seconds(read)} s without an answer"
                        + (f" ({attempt + 1} tries)" if attempt else "")
                    ) from None
                problem, wait = f"timed out after {_seconds(read)} s", self._backoff(attempt)
            except httpx.TransportError as exc:
                if last:
                    raise RemoteUnavailable(
                        f"{where} failed after {attempt + 1} tries: {_describe(exc)} "
                        "(is the model server running?)"
                    ) from None
                problem, wait = _describe(exc), self._backoff(attempt)
            else:
                status = response.status_code
                if status < 500 and status != 429:
                    return response
                problem = f"HTTP {status}: {_snippet(response.text)}"
                if last:
                    raise RemoteUnavailable(
                        f"{where} answered HTTP {status} {attempt + 1} times: "
                        f"{_snippet(response.text)}"
                    )
                asked = retry_after(response) if status in _RATE_LIMITED else None
                wait = self._backoff(attempt) if asked is None else asked
            if time.monotonic() + wait >= deadline:
                tries = "1 try" if attempt == 0 else f"{attempt + 1} tries"
                raise RemoteUnavailable(
                    f"{where} gave up after {tries} ({problem}): another try {_seconds(wait)} s "
                    f"later would pass the {_seconds(self.total_timeout)} s allowed for one request"
                )
            self._wait(wait, should_cancel)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return self.backoff * 2**attempt

    def _send(
        self,
        method: str,
        path: str,
        payload: dict | None,
        read: float,
        should_cancel: Callable[[], bool] | None,
    ) -> httpx.Response:
        """One try; with ``should_cancel`` in a thread that is abandoned on cancel."""
        timeout = self._timeout
        if read < self._timeout.read:  # the last try gets what is left of the total
            timeout = httpx.Timeout(read, connect=min(self._timeout.connect, read))
        client = self._client()
        if should_cancel is None:
            return client.request(method, self.url + path, json=payload, timeout=timeout)
        outcome: dict = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["response"] = client.request(
                    method, self.url + path, json=payload, timeout=timeout
                )
            except BaseException as exc:  # handed to the caller's thread below
                outcome["error"] = exc
            finally:
                finished.set()

        threading.Thread(target=run, name="labelloop-remote-request", daemon=True).start()
        while not finished.wait(CANCEL_POLL):
            if should_cancel():
                self.close()  # drops the connection; the abandoned thread ends with an error
                raise Cancelled(f"cancelled while waiting for {method} {self.url}{path}")
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def _wait(self, seconds: float, should_cancel: Callable[[], bool] | None) -> None:
        if should_cancel is None:
            self._sleep(seconds)
            return
        end = time.monotonic() + seconds
        while True:
            if should_cancel():
                raise Cancelled(f"cancelled while waiting to retry {self.url}")
            left = end - time.monotonic()
            if left <= 0:
                return
            self._sleep(min(left, CANCEL_POLL))

    def _json(self, response: httpx.Response, what: str):
        if response.status_code >= 400:
            raise RemoteAnswerInvalid(
                f"{what} answered HTTP {response.status_code}: {_snippet(response.text)}"
            )
        try:
            return response.json()
        except ValueError:
            raise RemoteAnswerInvalid(
                f"{what} did not answer JSON: {_snippet(response.text)}"
            ) from None

    def health(self, *, should_cancel: Callable[[], bool] | None = None) -> dict:
        """The backend's /health answer; raises when it is down or answers garbage."""
        response = self._request("GET", "/health", should_cancel=should_cancel)
        data = self._json(response, f"{self.url}/health")
        if not isinstance(data, dict):
            raise RemoteAnswerInvalid(f"{self.url}/health answered {_snippet(str(data))}")
        status = str(data.get("status", "UP")).upper()
        if status not in ("UP", "OK"):
            raise RemoteUnavailable(f"{self.url}/health says the model is {status}")
        return data

    def class_names(self) -> list[str] | None:
        """Class names from ``GET /setup`` when the backend lists them there, else None."""
        try:
            response = self._request("GET", "/setup")
        except RemoteUnavailable:
            return None
        if response.status_code >= 400:
            return None
        try:
            data = response.json()
        except ValueError:
            return None
        names = data.get("class_names", data.get("labels")) if isinstance(data, dict) else None
        if isinstance(names, list) and names and all(isinstance(n, str) and n for n in names):
            return list(names)
        return None

    def predict(
        self,
        tasks: Sequence[tuple[int, str]],
        *,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[RemoteAnswer]:
        """One request: ``tasks`` are (id, image URL) pairs; one answer per task, in order."""
        payload: dict = {"tasks": [{"id": tid, "data": {"image": url}} for tid, url in tasks]}
        if self.label_config is not None:
            payload["label_config"] = self.label_config
            payload["project"] = "labelloop"
        response = self._request("POST", "/predict", payload, should_cancel=should_cancel)
        data = self._json(response, f"{self.url}/predict")
        return parse_predictions(data, [tid for tid, _ in tasks], self.task_type)

    def predict_all(
        self,
        task_ids: Sequence[int],
        url_for: Callable[[int], str],
        *,
        progress: Callable[[int, int], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> list[RemoteAnswer]:
        """Every task in batches of ``batch_size``; ``url_for(id)`` is asked batch by batch
        (so data URIs are built only for the batch being sent)."""
        answers: list[RemoteAnswer] = []
        total = len(task_ids)
        for start in range(0, total, self.batch_size):
            if should_cancel is not None and should_cancel():
                raise Cancelled(f"cancelled after {start} of {total} images")
            chunk = task_ids[start : start + self.batch_size]
            tasks = [(tid, url_for(tid)) for tid in chunk]
            answers.extend(self.predict(tasks, should_cancel=should_cancel))
            if progress is not None:
                progress(start + len(chunk), total)
        return answers


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delay or HTTP date), at most
    ``MAX_RETRY_AFTER``; None when there is no usable header."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def label_config(task_type: str, class_names: Sequence[str]) -> str:
    """The Label Studio labeling config of a single-choice or rectangle task over the classes."""
    tag, item = (
        ("Choices", "Choice") if task_type == "classification" else ("RectangleLabels", "Label")
    )
    choice = ' choice="single"' if task_type == "classification" else ""
    items = "".join(f"<{item} value={quoteattr(name)}/>" for name in class_names)
    return (
        f'<View><Image name="image" value="$image"/>'
        f'<{tag} name="label" toName="image"{choice}>{items}</{tag}></View>'
    )


# -- answer validation ---------------------------------------------------------------------


def parse_predictions(data, task_ids: Sequence[int], task_type: str) -> list[RemoteAnswer]:
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise RemoteAnswerInvalid(
            'the /predict answer is not an object with a "results" list: ' + _snippet(str(data))
        )
    results = data["results"]
    if len(results) != len(task_ids):
        raise RemoteAnswerInvalid(
            f"/predict answered {len(results)} results for {len(task_ids)} tasks"
        )
    wanted = _TASK_ITEM_TYPES[task_type]
    return [
        _parse_result(result, task_id, wanted)
        for result, task_id in zip(results, task_ids, strict=True)
    ]


def _parse_result(result, task_id: int, wanted: str) -> RemoteAnswer:
    where = f"the result for task {task_id}"
    if not isinstance(result, dict):
        raise RemoteAnswerInvalid(f"{where} is not an object: {_snippet(str(result))}")
    items = result.get("result", [])
    if not isinstance(items, list):
        raise RemoteAnswerInvalid(f'{where}: "result" is not a list')
    version = result.get("model_version")
    if version is not None and not isinstance(version, str | int | float):
        raise RemoteAnswerInvalid(f'{where}: "model_version" is not a string')
    choices, boxes = [], []
    for n, item in enumerate(items):
        at = f"{where}, item {n}"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise RemoteAnswerInvalid(f'{at} is not an object with a "type"')
        if item["type"] != wanted:
            continue
        value = item.get("value")
        if not isinstance(value, dict):
            raise RemoteAnswerInvalid(f'{at}: "value" is not an object')
        score = _score(item.get("score", result.get("score")), at)
        if wanted == "choices":
            choices.append(RemoteChoice(_one_name(value, "choices", at), score))
        else:
            box = _box(value, score, at)
            width, height = (_size(item.get(k), k, at) for k in ORIGINAL_SIZE_KEYS)
            boxes.append(replace(box, original_width=width, original_height=height))
    return RemoteAnswer(
        choices=tuple(choices),
        boxes=tuple(boxes),
        model_version=None if version is None else str(version),
        score=_score(result.get("score"), where),
    )


def _one_name(value: dict, key: str, at: str) -> str:
    names = value.get(key)
    if not isinstance(names, list) or len(names) != 1 or not isinstance(names[0], str):
        raise RemoteAnswerInvalid(f'{at}: "{key}" must be a list of exactly one name')
    if not names[0].strip():
        raise RemoteAnswerInvalid(f'{at}: "{key}" holds an empty name')
    return names[0]


def _box(value: dict, score: float | None, at: str) -> RemoteBox:
    numbers = {}
    for key in ("x", "y", "width", "height"):
        number = value.get(key)
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise RemoteAnswerInvalid(f'{at}: "{key}" is not a number')
        if not math.isfinite(number):
            raise RemoteAnswerInvalid(f'{at}: "{key}" is not finite')
        numbers[key] = float(number)
    x, y, w, h = numbers["x"], numbers["y"], numbers["width"], numbers["height"]
    if w <= 0 or h <= 0:
        raise RemoteAnswerInvalid(f"{at}: width and height must be positive, got {w:g}x{h:g}")
    low, high = -_PERCENT_SLACK, 100 + _PERCENT_SLACK
    if not (low <= x and low <= y and x + w <= high and y + h <= high):
        raise RemoteAnswerInvalid(
            f"{at}: the box ({x:g}, {y:g}, {w:g}, {h:g}) leaves the image; x, y, width and height "
            "are percent of the image (0-100)"
        )
    rotation = value.get("rotation", 0)
    if isinstance(rotation, bool) or not isinstance(rotation, int | float) or rotation % 360:
        raise RemoteAnswerInvalid(f"{at}: rotated boxes ({rotation!r}) are not supported")
    return RemoteBox(_one_name(value, "rectanglelabels", at), x, y, w, h, score)


def _size(value, key: str, at: str) -> float | None:
    """An ``original_width``/``original_height``: None when absent or 0 (not said)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RemoteAnswerInvalid(f'{at}: "{key}" {value!r} is not a number')
    if value < 0:
        raise RemoteAnswerInvalid(f'{at}: "{key}" {value:g} is negative')
    return float(value) if value > 0 else None


def _score(value, at: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RemoteAnswerInvalid(f'{at}: "score" {value!r} is not a number')
    if not 0.0 <= value <= 1.0:
        raise RemoteAnswerInvalid(f'{at}: "score" {value:g} is not between 0 and 1')
    return float(value)


def _seconds(value: float) -> str:
    """0.5 -> "0.5", 60.0 -> "60", 59.87 -> "59.9", 0.01 -> "0"."""
    return f"{value:.1f}".rstrip("0").rstrip(".") or "0"


def _describe(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."

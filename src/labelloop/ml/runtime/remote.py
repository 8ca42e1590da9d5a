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

Failures (all ``RemoteModelError``):
- ``RemoteUnavailable``: the endpoint cannot be reached, times out, or answers 5xx after
  ``retries`` more tries with exponential backoff (``backoff * 2**attempt`` seconds). Connection
  errors and 5xx are retried; a read timeout is not (a model too slow once is slow again, and
  every retry would cost another full timeout).
- ``RemoteAnswerInvalid``: 4xx, non-JSON, or JSON of the wrong shape.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

import httpx

from labelloop.ml.features import Cancelled

DEFAULT_TIMEOUT = 60.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
DEFAULT_BATCH_SIZE = 8
_TASK_ITEM_TYPES = {"classification": "choices", "detection": "rectanglelabels"}
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

    def _request(self, method: str, path: str, payload: dict | None = None) -> httpx.Response:
        where = f"{method} {self.url}{path}"
        attempt = 0
        while True:
            last = attempt >= self.retries
            try:
                response = self._client().request(method, self.url + path, json=payload)
            except httpx.ReadTimeout:
                raise RemoteUnavailable(
                    f"{where} timed out after {self._timeout.read:g} s without an answer"
                ) from None
            except httpx.TransportError as exc:
                if last:
                    raise RemoteUnavailable(
                        f"{where} failed after {attempt + 1} tries: {_describe(exc)} "
                        "(is the model server running?)"
                    ) from None
            else:
                if response.status_code < 500:
                    return response
                if last:
                    raise RemoteUnavailable(
                        f"{where} answered HTTP {response.status_code} {attempt + 1} times: "
                        f"{_snippet(response.text)}"
                    )
            self._sleep(self.backoff * 2**attempt)
            attempt += 1

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

    def health(self) -> dict:
        """The backend's /health answer; raises when it is down or answers garbage."""
        data = self._json(self._request("GET", "/health"), f"{self.url}/health")
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

    def predict(self, tasks: Sequence[tuple[int, str]]) -> list[RemoteAnswer]:
        """One request: ``tasks`` are (id, image URL) pairs; one answer per task, in order."""
        payload: dict = {"tasks": [{"id": tid, "data": {"image": url}} for tid, url in tasks]}
        if self.label_config is not None:
            payload["label_config"] = self.label_config
            payload["project"] = "labelloop"
        data = self._json(self._request("POST", "/predict", payload), f"{self.url}/predict")
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
            answers.extend(self.predict([(tid, url_for(tid)) for tid in chunk]))
            if progress is not None:
                progress(start + len(chunk), total)
        return answers


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
            boxes.append(_box(value, score, at))
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


def _score(value, at: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RemoteAnswerInvalid(f'{at}: "score" {value!r} is not a number')
    if not 0.0 <= value <= 1.0:
        raise RemoteAnswerInvalid(f'{at}: "score" {value:g} is not between 0 and 1')
    return float(value)


def _describe(exc: httpx.TransportError) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."

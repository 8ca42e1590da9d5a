"""A small Label Studio ML backend for tests: a real HTTP server on 127.0.0.1.

It fetches each task's image by its URL (or decodes a data URI), looks at the mean colour and
answers like a real backend: classification ``choices`` (the dominant channel's class) or
detection ``rectanglelabels`` (one box per image at ``box_percent``, labelled by colour).
Boxes carry ``original_width``/``original_height`` = the size of the image it decoded (Pillow,
EXIF ignored, like most backends), or ``original_size`` when given.
``mode`` makes it misbehave: "slow" (sleeps ``delay`` before answering /predict), "slow-first"
(sleeps ``delay`` on the first ``failures`` calls only: a model loaded on first use),
"malformed" (wrong shape), "error" (HTTP 500 on /predict), "flaky" (503 on the first
``failures`` calls, then fine), "busy" (``busy_status``, 429 by default, with a ``Retry-After:
retry_after`` header on the first ``failures`` calls), "break-after" (fine for ``failures``
calls, then 500), "bad-box" (a box outside the image), "not-json".
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

CHANNEL_CLASSES = ("red", "green", "blue")


class FakeBackend:
    def __init__(
        self,
        task_type: str = "classification",
        *,
        mode: str = "ok",
        delay: float = 0.0,
        failures: int = 0,
        setup_classes: list[str] | None = None,
        box_percent: tuple[float, float, float, float] = (10.0, 20.0, 50.0, 40.0),
        score: float | None = None,
        class_names: tuple[str, ...] = CHANNEL_CLASSES,
        original_size: tuple[int, int] | None = None,
        busy_status: int = 429,
        retry_after: str | None = None,
    ):
        self.task_type = task_type
        self.mode = mode
        self.delay = delay
        self.failures = failures
        self.setup_classes = setup_classes
        self.box_percent = box_percent
        self.score = score
        self.class_names = class_names
        self.original_size = original_size
        self.busy_status = busy_status
        self.retry_after = retry_after
        self.requests: list[dict] = []  # /predict payloads received
        self.request_times: list[float] = []  # time.monotonic() of each /predict
        self.fetched: list[bytes] = []  # image bytes fetched through the URLs
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeBackend:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/health":
                    self._json(200, {"status": "UP", "model_class": "FakeBackend"})
                elif self.path == "/setup" and backend.setup_classes is not None:
                    self._json(200, {"class_names": backend.setup_classes})
                else:
                    self._json(404, {"error": "not found"})

            def do_POST(self) -> None:
                if self.path != "/predict":
                    self._json(404, {"error": "not found"})
                    return
                length = int(self.headers.get("Content-Length", 0))
                payload = json.loads(self.rfile.read(length))
                try:
                    status, body, *headers = backend.answer(payload)
                except OSError as exc:  # an image URL gone (the client gave up long ago)
                    status, body, headers = 500, f"cannot fetch the image: {exc}", []
                if isinstance(body, str):
                    self._raw(status, body.encode(), headers=headers[0] if headers else None)
                else:
                    self._json(status, body)

            def _json(self, status: int, body) -> None:
                self._raw(status, json.dumps(body).encode(), "application/json")

            def _raw(
                self,
                status: int,
                data: bytes,
                kind: str = "text/plain",
                headers: dict | None = None,
            ) -> None:
                try:
                    self.send_response(status)
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- answers -------------------------------------------------------------------------

    def answer(self, payload: dict):
        with self._lock:
            self.requests.append(payload)
            self.request_times.append(time.monotonic())
            calls = len(self.requests)
        if self.mode == "slow" or (self.mode == "slow-first" and calls <= self.failures):
            time.sleep(self.delay)
        if self.mode == "busy" and calls <= self.failures:
            headers = {} if self.retry_after is None else {"Retry-After": self.retry_after}
            return self.busy_status, "busy, try again later", headers
        if self.mode == "error":
            return 500, "model crashed: CUDA out of memory"
        if self.mode == "flaky" and calls <= self.failures:
            return 503, "warming up"
        if self.mode == "break-after" and calls > self.failures:
            return 500, "model crashed mid-job"
        if self.mode == "malformed":
            return 200, {"results": [{"result": [{"type": "choices", "value": "red"}]}]}
        if self.mode == "not-json":
            return 200, "<html>proxy error</html>"
        results = [self._predict(task) for task in payload["tasks"]]
        return 200, {"results": results}

    def _predict(self, task: dict) -> dict:
        means, size = self._look_at(task["data"]["image"])
        channel = int(np.argmax(means))
        name = self.class_names[channel]
        share = float(means[channel] / max(means.sum(), 1e-9))
        score = self.score if self.score is not None else round(share, 4)
        if self.task_type == "classification":
            item = {
                "from_name": "label",
                "to_name": "image",
                "type": "choices",
                "value": {"choices": [name]},
                "score": score,
            }
        else:
            x, y, w, h = self.box_percent
            width, height = self.original_size or size
            if self.mode == "bad-box":
                x = 90.0
            item = {
                "from_name": "label",
                "to_name": "image",
                "type": "rectanglelabels",
                "original_width": width,
                "original_height": height,
                "value": {
                    "x": x,
                    "y": y,
                    "width": w,
                    "height": h,
                    "rotation": 0,
                    "rectanglelabels": [name],
                },
                "score": score,
            }
        return {"model_version": "fake-1", "score": score, "result": [item]}

    def _look_at(self, url: str) -> tuple[np.ndarray, tuple[int, int]]:
        """Mean colour and (width, height) of the image, decoded as most backends do: Pillow
        without EXIF orientation."""
        if url.startswith("data:"):
            data = base64.b64decode(url.split(",", 1)[1])
        else:
            with urllib.request.urlopen(url, timeout=5) as response:
                data = response.read()
        with self._lock:
            self.fetched.append(data)
        with Image.open(io.BytesIO(data)) as img:
            pixels = np.asarray(img.convert("RGB"), dtype=np.float64)
            return pixels.reshape(-1, 3).mean(axis=0), img.size

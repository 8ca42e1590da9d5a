"""A small Label Studio ML backend for tests: a real HTTP server on 127.0.0.1.

It fetches each task's image by its URL (or decodes a data URI), looks at the mean colour and
answers like a real backend: classification ``choices`` (the dominant channel's class) or
detection ``rectanglelabels`` (one box per image at ``box_percent``, labelled by colour).
``mode`` makes it misbehave: "slow" (sleeps ``delay`` before answering /predict), "malformed"
(wrong shape), "error" (HTTP 500 on /predict), "flaky" (503 on the first ``failures`` calls,
then fine), "break-after" (fine for ``failures`` calls, then 500), "bad-box" (a box outside
the image), "not-json".
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
    ):
        self.task_type = task_type
        self.mode = mode
        self.delay = delay
        self.failures = failures
        self.setup_classes = setup_classes
        self.box_percent = box_percent
        self.score = score
        self.class_names = class_names
        self.requests: list[dict] = []  # /predict payloads received
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
                status, body = backend.answer(payload)
                if isinstance(body, str):
                    self._raw(status, body.encode())
                else:
                    self._json(status, body)

            def _json(self, status: int, body) -> None:
                self._raw(status, json.dumps(body).encode(), "application/json")

            def _raw(self, status: int, data: bytes, kind: str = "text/plain") -> None:
                try:
                    self.send_response(status)
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
            calls = len(self.requests)
        if self.mode == "slow":
            time.sleep(self.delay)
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
        means = self._mean_colour(task["data"]["image"])
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
            if self.mode == "bad-box":
                x = 90.0
            item = {
                "from_name": "label",
                "to_name": "image",
                "type": "rectanglelabels",
                "original_width": 0,
                "original_height": 0,
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

    def _mean_colour(self, url: str) -> np.ndarray:
        if url.startswith("data:"):
            data = base64.b64decode(url.split(",", 1)[1])
        else:
            with urllib.request.urlopen(url, timeout=5) as response:
                data = response.read()
        with self._lock:
            self.fetched.append(data)
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)

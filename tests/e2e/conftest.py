"""End-to-end fixtures: a real ``labelloop serve`` (uvicorn) on a free loopback port with its own
LABELLOOP_HOME, and headless Debian Chromium driven by Playwright.

Browser downloads do not work on these machines, so Playwright drives /usr/bin/chromium; the
tests skip with the reason when it (or the playwright package) is missing. Set
LABELLOOP_SCREENSHOT_DIR to save screenshots of the main pages (docs/screenshots is made so).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
SERVER_START_SECONDS = 30


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent (apt-get install chromium) - browser tests skipped")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is absent (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Server:
    def __init__(self, url: str, home: Path):
        self.url = url
        self.home = home
        self.api = httpx.Client(base_url=f"{url}/api/v1", timeout=30)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model_cache):
    """``labelloop serve`` in a subprocess, as a user starts it; stopped after the module."""
    home = tmp_path_factory.mktemp("e2e-home")
    port = _free_port()
    env = dict(os.environ)
    env.update(
        LABELLOOP_HOME=str(home),
        LABELLOOP_DATABASE_URL=f"sqlite:///{home / 'labelloop.db'}",
        LABELLOOP_CACHE_DIR=str(model_cache),
    )
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from labelloop.cli import main; main()",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, home / "server.log")
        server = Server(url, home)
        yield server
        server.api.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"labelloop serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"labelloop serve did not answer within {SERVER_START_SECONDS} s")


@pytest.fixture
def page(chromium, server):
    """A fresh browser page; JavaScript errors fail the test."""
    context = chromium.new_context(viewport=VIEWPORT, base_url=server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"


def wait_for_next_image(page, image_id, *, or_grid: bool = False) -> None:
    """The editor shows another image than ``image_id`` (after a save or a move); with
    ``or_grid``, going back to the grid (the end of the list) counts too."""
    target = f".editor:not([data-image-id='{image_id}'])"
    page.locator(f"{target}, [data-testid=grid]" if or_grid else target).first.wait_for()


def wait_for_grid(
    page, *, tab: str, hard: str = "", hard_type: str = "", label: str | None = None
) -> None:
    """The image grid for these filters has loaded. A click on a filter changes the URL at
    once, but the previous grid stays on screen until the new page of images arrives, so
    waiting on the URL or on any tile races the reload. ``label=None``: any label filter."""
    label_mark = "" if label is None else f"[data-label='{label}']"
    page.locator(
        f"[data-testid=grid][data-ready=true][data-tab={tab}]"
        f"[data-hard='{hard}'][data-hard-type='{hard_type}']{label_mark}"
    ).wait_for()


def tiny_png(n: int, size: int = 8) -> bytes:
    """A small PNG whose colour encodes ``n`` (distinct images: imports keep no duplicates)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (n % 256, (n // 256) % 256, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def create_dataset(server, name: str, task_type: str, labels: list[str], images: int = 0) -> dict:
    """A dataset with ``images`` tiny unlabeled images, made over the API."""
    created = server.api.post(
        "/datasets", json={"name": name, "task_type": task_type, "labels": labels}
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    files = [("files", (f"img_{n:04d}.png", tiny_png(n, 16), "image/png")) for n in range(images)]
    for start in range(0, len(files), 500):
        answer = server.api.post(
            f"/datasets/{dataset['id']}/imports", files=files[start : start + 500]
        )
        assert answer.status_code == 200, answer.text
    return dataset


def publish_proposals(server, dataset_name: str, propose) -> None:
    """Publish a smart-labeling job's proposals straight into the server's database:
    ``propose(n, image)`` gives the ImagePrediction of the n-th unlabeled image."""
    from labelloop.config import Settings
    from labelloop.domain import ImageState, JobKind
    from labelloop.jobs.runner import run_job
    from labelloop.services import jobs as job_service
    from labelloop.services.context import AppContext
    from labelloop.storage import datasets_repo, images_repo, jobs_repo

    def pipeline(app, job, reporter):
        with app.db.session() as session:
            images = images_repo.all_images(session, job.dataset_id, [ImageState.UNLABELED])
        predictions = [propose(n, image) for n, image in enumerate(images)]
        return job_service.JobOutcome(predictions=predictions)

    app = AppContext(Settings.for_home(server.home))
    try:
        with app.db.session() as session:
            dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
            job = jobs_repo.create_job(session, dataset.id, JobKind.PRE_LABEL, {"model": "test"})
        assert run_job(app, job.id, pipeline=pipeline).state.value == "succeeded"
    finally:
        app.close()


def wait_quietly(locator, timeout_ms: float) -> bool:
    """Wait for ``locator``; False instead of an error when it does not show in time."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.wait_for(timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


def screenshot(page, name: str) -> None:
    """Save a screenshot when LABELLOOP_SCREENSHOT_DIR names a folder (for the README)."""
    folder = os.environ.get("LABELLOOP_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(300)  # let thumbnails and transitions settle
        # Notices of earlier steps would cover the page in a still picture.
        page.evaluate("document.querySelectorAll('.toast').forEach((t) => t.remove())")
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


# A 640x420 "street" JPEG: a dark rectangle (a car) and a red ellipse (a possible missed object).
STREET_WIDTH, STREET_HEIGHT = 640, 420


def street_image(seed: int) -> bytes:
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (STREET_WIDTH, STREET_HEIGHT), (170 + seed * 10, 200, 230))
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 80, 260, 240), fill=(30, 30, 120))
    draw.ellipse((360, 150, 520, 330), fill=(140, 20, 20))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


SCROLLS = "(el) => el.scrollHeight > el.clientHeight + 1"
EDITOR_CONTROLS = (
    "[data-testid=confirm-image]",
    "[data-testid=undo]",
    "[data-testid=auto-advance]",
    ".shortcuts summary",
)


def assert_controls_in_view(page, *, panel_scrolls: bool = False) -> None:
    """The editor's buttons are on screen; unless told, the panel itself does not scroll (only
    its lists do)."""
    height = page.viewport_size["height"]
    for selector in EDITOR_CONTROLS:
        box = page.locator(selector).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, selector
    if not panel_scrolls:
        assert not page.locator(".editor-panel").evaluate(SCROLLS)

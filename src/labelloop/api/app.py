"""The FastAPI app factory: REST routes under /api/v1, the browser UI at /, OpenAPI at /docs.

Nothing happens at import time: the database context is made when the app starts (lifespan)
and closed when it stops, so tests and ``labelloop serve`` each get their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from labelloop.config import Settings
from labelloop.services.context import AppContext

from .deps import WorkerStarter
from .errors import install_error_handlers
from .guards import RequestGuard
from .routes import datasets, images, models, review, tasks, transfer
from .schemas import HealthOut

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
API_PREFIX = "/api/v1"


def _labelloop_version() -> str:
    try:
        return version("labelloop")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def create_app(
    settings: Settings | None = None,
    *,
    start_worker: WorkerStarter | None = None,
    allowed_hosts: Sequence[str] | None = None,
):
    """Build the web app; ``settings`` default to the environment (config.py).

    ``start_worker`` starts a queued job's worker; the default spawns a detached process
    (jobs.runner.spawn_worker). Tests pass one that runs a small pipeline in-process.
    ``allowed_hosts``: the Host names the app answers to (``labelloop serve`` on loopback
    passes the loopback names); None answers any. Cross-origin writes are always refused
    (api/guards.py).
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.context = AppContext(settings)
        try:
            yield
        finally:
            app.state.context.close()

    app = FastAPI(
        title="labelloop",
        version=_labelloop_version(),
        summary="Self-hosted image labeling with smart labeling.",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served below from local files: the default loads Swagger UI from a CDN
        redoc_url=None,
    )
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts)
    app.state.start_worker = start_worker or _spawn_worker
    install_error_handlers(app)

    api = APIRouter(prefix=API_PREFIX)

    @api.get("/health", response_model=HealthOut, tags=["meta"])
    def health() -> HealthOut:
        return HealthOut(status="ok", version=app.version)

    for module in (datasets, images, review, transfer, tasks, models):
        api.include_router(module.router)
    app.include_router(api)
    _mount_docs(app)
    _mount_web(app)
    return app


def _mount_docs(app: FastAPI) -> None:
    """OpenAPI docs at /docs with the Swagger UI files of the fastapi-offline package (Swagger
    UI 5, which reads the OpenAPI 3.1 that FastAPI writes), so they work offline."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html

    assets = Path(fastapi_offline.__file__).resolve().parent / "static"
    app.mount("/docs-assets", StaticFiles(directory=str(assets)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def _spawn_worker(ctx: AppContext, job_id: int):
    from labelloop.jobs.runner import spawn_worker  # the jobs package loads ml code lazily

    return spawn_worker(ctx, job_id)


def _mount_web(app: FastAPI) -> None:
    """The UI: index.html at /, its modules and styles under /static (no build step)."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.mount("/static", _Revalidate(StaticFiles(directory=WEB_DIR)), name="static")


class _Revalidate:
    """Make browsers check static files on every load (a cheap 304), so an upgraded
    labelloop never runs a stale mix of old and new JavaScript modules."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_header(message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"cache-control", b"no-cache"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_header)

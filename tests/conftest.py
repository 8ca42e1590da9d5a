"""Shared fixtures: an application context on a real database.

Every database test runs on SQLite; it also runs on PostgreSQL when LABELLOOP_TEST_POSTGRES_URL
names a server (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) — .ci/run starts
one. Each test gets a database of its own.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from PIL import Image

from labelloop.config import Settings
from labelloop.services.context import AppContext

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
POSTGRES_URL = os.environ.get("LABELLOOP_TEST_POSTGRES_URL")

BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def shared_dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real dataset {name} not found at {path} (../shared/data is absent)")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'labelloop.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"labelloop_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory) -> Path:
    """One cache of derived model files (the exported ONNX backbone) for the whole session:
    exporting it takes seconds, and every test would otherwise do it again."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def settings(tmp_path, database_url, model_cache) -> Settings:
    return Settings(home=tmp_path / "home", database_url=database_url, cache_override=model_cache)


@pytest.fixture
def app(settings):
    ctx = AppContext(settings)
    yield ctx
    ctx.close()


@pytest.fixture
def cli_env(settings, monkeypatch):
    """Environment for running the CLI in-process against the test database."""
    monkeypatch.setenv("LABELLOOP_HOME", str(settings.home))
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LABELLOOP_CACHE_DIR", str(settings.cache_dir))
    return settings


def make_image(
    path: Path,
    size: tuple[int, int] = (64, 48),
    color: tuple[int, int, int] = (200, 30, 30),
    fmt: str | None = None,
    seed: int = 0,
) -> Path:
    """A small image whose content differs by ``color`` and ``seed`` (so sha256 differs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, color)
    img.putpixel((seed % size[0], (seed // size[0]) % size[1]), (seed % 256, 7, 99))
    img.save(path, format=fmt or ("JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"))
    return path


def pytest_collection_modifyitems(config, items):
    """Tests marked ``sqlite_only`` (heavy model training) run once, on SQLite: their database
    work is the same as in the job tests that do run on both backends."""
    kept, dropped = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        on_postgres = params is not None and params.params.get("database_url") == "postgresql"
        (dropped if on_postgres and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

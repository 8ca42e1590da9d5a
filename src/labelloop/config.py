"""The one place that reads environment variables.

LABELLOOP_HOME          data directory (default ~/.labelloop): database, images, model cache
LABELLOOP_DATABASE_URL  SQLAlchemy URL (default sqlite:///$LABELLOOP_HOME/labelloop.db);
                        e.g. postgresql+psycopg://user:pass@127.0.0.1/labelloop
LABELLOOP_CACHE_DIR     derived files that can be rebuilt: the exported ONNX backbone
                        (default $LABELLOOP_HOME/cache)
LABELLOOP_FEATURE_CACHE_GB  disk kept for cached detection features (default 4): about
                        1 MB an image at 448 px, evicted least recently used after each job
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_FEATURE_CACHE_GB = 4.0


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    cache_override: Path | None = None
    feature_cache_bytes: int = int(DEFAULT_FEATURE_CACHE_GB * 1e9)

    @property
    def blob_dir(self) -> Path:
        return self.home / "images"

    @property
    def model_dir(self) -> Path:
        return self.home / "models"

    @property
    def cache_dir(self) -> Path:
        return self.cache_override or self.home / "cache"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("LABELLOOP_HOME") or Path.home() / ".labelloop").expanduser()
        url = env.get("LABELLOOP_DATABASE_URL") or f"sqlite:///{home / 'labelloop.db'}"
        cache = env.get("LABELLOOP_CACHE_DIR")
        return cls(home=home, database_url=url, cache_override=Path(cache) if cache else None,
                   feature_cache_bytes=_gigabytes(env, "LABELLOOP_FEATURE_CACHE_GB",
                                                  DEFAULT_FEATURE_CACHE_GB))

    @classmethod
    def for_home(cls, home: Path, database_url: str | None = None) -> Settings:
        return cls(home=home, database_url=database_url or f"sqlite:///{home / 'labelloop.db'}")


def _gigabytes(env, name: str, default: float) -> int:
    raw = env.get(name)
    if not raw:
        return int(default * 1e9)
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses NaN
        raise ValueError(f"{name} must be a number of gigabytes >= 0, got {raw!r}")
    return int(value * 1e9)

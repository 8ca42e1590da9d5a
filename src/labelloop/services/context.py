"""The application context every use case receives: settings, database, blob store."""

from __future__ import annotations

from labelloop.config import Settings
from labelloop.storage.blobs import BlobStore
from labelloop.storage.database import Database


class AppContext:
    """Built once by the CLI, the web app or a test; holds no global state."""

    def __init__(self, settings: Settings, *, migrate: bool = True):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        self.db = Database(settings.database_url)
        self.blobs = BlobStore(settings.blob_dir)
        if migrate:
            self.db.migrate()

    @classmethod
    def from_env(cls) -> AppContext:
        return cls(Settings.from_env())

    def close(self) -> None:
        self.db.dispose()

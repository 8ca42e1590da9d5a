"""Database-backed embedding cache (the ml.features EmbeddingCache protocol).

Keys carry image sha256, backbone id, preprocessing version and view, so a changed backbone or
preprocessing simply misses; vectors are float32 bytes.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from .database import Database
from .tables import EmbeddingRow

_CHUNK = 500


class DatabaseEmbeddingCache:
    def __init__(self, db: Database):
        self._db = db

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._db.session() as session:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                for key, blob in session.execute(
                    select(EmbeddingRow.key, EmbeddingRow.vector).where(EmbeddingRow.key.in_(chunk))
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32).copy()
        return found

    def present(self, keys: list[str]) -> set[str]:
        """The keys that are stored, without reading their vectors."""
        present: set[str] = set()
        with self._db.session() as session:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                present |= set(
                    session.scalars(select(EmbeddingRow.key).where(EmbeddingRow.key.in_(chunk)))
                )
        return present

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if not items:
            return
        with self._db.session() as session:
            existing = set()
            keys = list(items)
            for start in range(0, len(keys), _CHUNK):
                existing |= set(
                    session.scalars(
                        select(EmbeddingRow.key).where(
                            EmbeddingRow.key.in_(keys[start : start + _CHUNK])
                        )
                    )
                )
            rows = [
                {"key": k, "vector": np.asarray(v, dtype=np.float32).tobytes()}
                for k, v in items.items()
                if k not in existing
            ]
            if rows:
                # Two jobs on datasets sharing an image may store the same key at once.
                dialect = postgresql if self._db.dialect == "postgresql" else sqlite
                session.execute(dialect.insert(EmbeddingRow).on_conflict_do_nothing(), rows)

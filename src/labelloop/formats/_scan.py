"""Walking an import folder and saying what was left out and why.

``base.walk_files`` skips symbolic links silently; the importers of this module's users report
each link as skipped instead, so a person who expected those images knows where they went. Links
are never followed: a link inside an upload could point anywhere on the server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .base import ImportContext

__all__ = ["SYMLINK_SKIPPED", "scan_files"]

SYMLINK_SKIPPED = "a symbolic link, not followed (links could point anywhere)"


def scan_files(root: Path, ctx: ImportContext) -> Iterator[Path]:
    """Every regular file under ``root`` in a stable order; links and unreadable folders reported.

    Hidden files and folders (``.DS_Store``, ``.git``, ``.ipynb_checkpoints``) are system
    metadata, not data, and are left out silently, as ``walk_files`` does.
    """

    def unreadable(exc: OSError) -> None:
        where = exc.filename if isinstance(exc.filename, str) else root
        ctx.error(where, f"cannot read the folder ({exc.strerror or exc})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable, followlinks=False):
        folder = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            if (folder / name).is_symlink():
                ctx.error(folder / name, SYMLINK_SKIPPED)
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = folder / name
            if path.is_symlink():
                ctx.error(path, SYMLINK_SKIPPED)
                continue
            if not path.is_file():  # a socket, fifo or device: nothing to import
                ctx.error(path, "not a regular file")
                continue
            yield path

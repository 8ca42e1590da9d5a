"""Zip downloads built in a private folder that is removed once the response is sent."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from fastapi.responses import FileResponse
from starlette.background import BackgroundTask


def zip_download(build: Callable[[Path], Path], *, parent: Path | None = None) -> FileResponse:
    """``build(workdir)`` writes the zip into a fresh folder and returns its path; the folder
    goes when the download ends, or at once when ``build`` fails."""
    workdir = Path(tempfile.mkdtemp(prefix="labelloop-download-", dir=parent))
    try:
        archive = build(workdir)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, workdir, ignore_errors=True),
    )

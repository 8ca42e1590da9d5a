"""Import from files a browser uploaded, and export as one zip to download.

Uploads are written to a temporary folder (keeping the relative paths a folder upload sends,
so class folders and annotation files stay where the format expects them) and imported with
``importing.import_path``; the folder is removed afterwards whatever happens.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from labelloop.domain import ImageState, InvalidInput

from . import exporting, importing
from .context import AppContext

_CHUNK = 1 << 20
# Already-compressed files gain nothing from deflate; storing them keeps a big export fast.
_STORED_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".zip", ".jfif", ".mpo"})


@dataclass(frozen=True)
class Upload:
    filename: str  # as the browser sent it; may hold a relative path (folder upload)
    stream: BinaryIO


def import_uploads(
    app: AppContext, dataset_name: str, uploads: Iterable[Upload], *, format_name: str = "auto"
) -> importing.ImportReport:
    """Import uploaded files: one .zip archive, or image and annotation files (a folder)."""
    uploads = list(uploads)
    if not uploads:
        raise InvalidInput("upload at least one file")
    archives = [u for u in uploads if u.filename.lower().endswith(".zip")]
    if archives and len(uploads) > 1:
        raise InvalidInput("upload a .zip archive on its own, or image files without archives")
    with tempfile.TemporaryDirectory(prefix="labelloop-upload-") as tmp:
        root = Path(tmp) / "upload"
        root.mkdir()
        try:
            if archives:
                target = Path(tmp) / "upload.zip"
                _save(archives[0].stream, target)
                if not zipfile.is_zipfile(target):
                    raise InvalidInput(
                        f"{archives[0].filename} is not a readable zip archive (damaged or cut "
                        "short?)"
                    )
                return importing.import_path(app, dataset_name, target, format_name=format_name)
            taken: set[str] = set()
            for index, upload in enumerate(uploads):
                relative = _unique(safe_relative_path(upload.filename, index), taken)
                destination = root / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                _save(upload.stream, destination)
            return importing.import_path(
                app, dataset_name, _content_root(root), format_name=format_name
            )
        except InvalidInput as exc:
            # The temporary folder means nothing to the person who uploaded (and tells a
            # stranger where the server keeps its files).
            message = str(exc).replace(str(root), "the uploaded files")
            raise InvalidInput(message.replace(tmp, "the upload")) from None


def _content_root(root: Path) -> Path:
    """An uploaded folder arrives as ``<folder>/...``: import what is inside it, so its class
    folders or annotation files sit at the root where the formats look for them."""
    entries = list(root.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return root


def safe_relative_path(filename: str, index: int) -> str:
    """A relative path inside the upload folder: no '..', no absolute path, no drive letter."""
    parts = [
        part
        for part in PurePosixPath(filename.replace("\\", "/")).parts
        if part not in ("", ".", "..", "/") and not part.endswith(":")
    ]
    return "/".join(parts) if parts else f"upload-{index:05d}"


def _unique(relative: str, taken: set[str]) -> str:
    candidate, n = relative, 1
    while candidate.lower() in taken:
        stem, dot, suffix = relative.rpartition(".")
        candidate = f"{stem}-{n}.{suffix}" if dot else f"{relative}-{n}"
        n += 1
    taken.add(candidate.lower())
    return candidate


def _save(stream: BinaryIO, destination: Path) -> None:
    with destination.open("wb") as out:
        shutil.copyfileobj(stream, out, _CHUNK)


def export_archive(
    app: AppContext,
    dataset_name: str,
    workdir: Path,
    *,
    format_name: str,
    states: list[ImageState] | None = None,
    missing: list[tuple[str, str]] | None = None,
) -> Path:
    """Export into ``workdir`` and pack the result as ``<dataset>-<format>.zip`` there; images
    left out because their file is gone are added to ``missing``.

    The caller owns ``workdir`` (and removes it once the zip is sent).
    """
    folder = workdir / f"{dataset_name}-{format_name}"
    report = exporting.export_dataset(
        app, dataset_name, folder, format_name=format_name, states=states
    )
    if missing is not None:
        missing.extend(report.missing)
    archive = workdir / f"{dataset_name}-{format_name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                stored = path.suffix.lower() in _STORED_SUFFIXES
                zf.write(
                    path,
                    arcname=path.relative_to(folder).as_posix(),
                    compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
                )
    return archive

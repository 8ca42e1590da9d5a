"""Safe extraction of an uploaded zip file into a folder the importers then read.

A zip from a user may try to write outside the destination (``../x``, ``/etc/x``, ``C:\\x``, a
symbolic link followed by a file through it) or to exhaust the disk (a zip bomb: tiny on disk,
huge unpacked). ``extract_zip`` checks every entry before writing anything:

- entries that are unsafe on their own (path escapes, links, devices, encrypted, duplicates)
  are skipped and reported, the rest is extracted;
- an archive that is a bomb (too many entries, too many bytes unpacked, or a compression ratio
  no image dataset has) is refused whole with ``UnsafeArchive``, before anything is written.

Declared sizes can lie: ``zipfile`` stops reading an entry at its declared size (the entry then
fails its CRC check and is skipped); the bytes written are also counted against the budget:
going over it raises ``UnsafeArchive`` (the caller discards ``dest``). Nothing is ever
written outside ``dest``.

``unwrap`` finds the dataset inside the extracted folder: ``zip -r coll.zip coll`` (and most
"compress folder" menus) put every entry under one wrapping folder, whose name is no class and
which hides a dataset's annotation files from the format readers one level too high.
"""

from __future__ import annotations

import posixpath
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from labelloop.domain import InvalidInput
from labelloop.imaging import looks_like_image

from .base import ImportIssue

__all__ = [
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_TOTAL_BYTES",
    "MAX_COMPRESSION_RATIO",
    "UnsafeArchive",
    "extract_zip",
    "unwrap",
]

# Defaults for callers without limits of their own: room for a large labeling dataset (half a
# million images, 20 GiB unpacked) while a bomb is stopped long before it fills a disk.
DEFAULT_MAX_FILES = 500_000
DEFAULT_MAX_TOTAL_BYTES = 20 * 2**30

# Images barely compress (about 1:1) and annotation text about 10:1; 100:1 over a sizeable
# amount of data is what a bomb looks like. Small entries (an empty label file) are exempt.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
# macOS adds resource forks under __MACOSX/; they are metadata, not part of the dataset.
_IGNORED_PREFIXES = ("__MACOSX/",)
# What operating systems leave beside a folder they compress; never part of a dataset. Names
# starting with "." (.DS_Store, ._coll) are hidden files, which every reader skips too.
_JUNK_NAMES = frozenset({"__macosx", "thumbs.db", "desktop.ini"})
_MAX_UNWRAP = 8  # wrapping folders peeled off at most (export/2024/coll/...)


class UnsafeArchive(InvalidInput):
    """The archive is refused as a whole (zip bomb, not a zip file)."""


@dataclass(frozen=True)
class _Plan:
    info: zipfile.ZipInfo
    target: Path
    is_dir: bool


def extract_zip(
    zip_path: Path,
    dest: Path,
    *,
    max_files: int = DEFAULT_MAX_FILES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
    max_ratio: float = MAX_COMPRESSION_RATIO,
) -> list[ImportIssue]:
    """Extract ``zip_path`` into ``dest`` (created); return the entries skipped and why.

    Raises ``UnsafeArchive`` for a file that is not a zip or is a bomb.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"{zip_path.name} is not a readable zip file: {exc}") from None
    with archive:
        entries = archive.infolist()
        _refuse_bombs(zip_path.name, entries, max_files, max_total_bytes, max_ratio)
        dest.mkdir(parents=True, exist_ok=True)
        issues: list[ImportIssue] = []
        plans = _plan(entries, dest.resolve(), issues)
        written = 0
        for plan in plans:
            written += _extract_one(archive, plan, max_total_bytes - written, issues)
    return issues


def unwrap(root: Path) -> Path:
    """The folder of an extracted archive that holds the dataset.

    When ``root`` holds exactly one folder and nothing else but system junk (``__MACOSX``,
    ``.DS_Store``, ``Thumbs.db``), the dataset is in that folder: it is taken as the root,
    repeatedly. A single folder holding only files (no folder, no annotation file) is kept as
    it is: ``cat/*.jpg`` may be one class of an ImageNet layout, and read either way the
    images of a plain folder are the same.
    """
    for _ in range(_MAX_UNWRAP):
        entries = [entry for entry in root.iterdir() if not _is_junk(entry.name)]
        if len(entries) != 1:
            return root
        inner = entries[0]
        if inner.is_symlink() or not inner.is_dir() or not _holds_more_than_images(inner):
            return root
        root = inner
    return root


def _is_junk(name: str) -> bool:
    return name.startswith(".") or name.lower() in _JUNK_NAMES


def _holds_more_than_images(folder: Path) -> bool:
    for entry in folder.iterdir():
        if _is_junk(entry.name):
            continue
        if entry.is_dir() or not looks_like_image(entry):
            return True
    return False


def _refuse_bombs(
    name: str, entries: list[zipfile.ZipInfo], max_files: int, max_bytes: int, max_ratio: float
) -> None:
    if len(entries) > max_files:
        raise UnsafeArchive(f"{name} holds {len(entries)} entries, over the limit of {max_files}")
    total = sum(info.file_size for info in entries)
    if total > max_bytes:
        raise UnsafeArchive(
            f"{name} unpacks to {total / 2**20:.0f} MiB, over the limit of "
            f"{max_bytes / 2**20:.0f} MiB"
        )
    for info in entries:
        if info.file_size >= RATIO_CHECK_MIN_BYTES and (
            info.compress_size == 0 or info.file_size / info.compress_size > max_ratio
        ):
            raise UnsafeArchive(
                f"{name}: entry {info.filename!r} unpacks from {info.compress_size} bytes to "
                f"{info.file_size} bytes, a ratio no image dataset has (zip bomb refused)"
            )
    packed = sum(info.compress_size for info in entries)
    if total >= RATIO_CHECK_MIN_BYTES and (packed == 0 or total / packed > max_ratio):
        raise UnsafeArchive(
            f"{name} unpacks from {packed} bytes to {total} bytes, a ratio no image dataset "
            "has (zip bomb refused)"
        )


def _plan(entries: list[zipfile.ZipInfo], dest: Path, issues: list[ImportIssue]) -> list[_Plan]:
    plans: list[_Plan] = []
    seen: set[str] = set()
    for info in entries:
        name = info.filename.replace("\\", "/")
        if name.startswith(_IGNORED_PREFIXES):
            continue
        problem = _entry_problem(info, name)
        relative = posixpath.normpath(name) if problem is None else ""
        if problem is None and relative in seen:
            problem = "a second entry with the same name"
        target = dest.joinpath(*relative.split("/")) if problem is None else dest
        if problem is None and not target.resolve().is_relative_to(dest):
            problem = "the path leads outside the extraction folder"
        if problem is not None:
            issues.append(ImportIssue(info.filename, f"skipped: {problem}"))
            continue
        seen.add(relative)
        plans.append(_Plan(info, target, info.is_dir()))
    return plans


def _entry_problem(info: zipfile.ZipInfo, name: str) -> str | None:
    """Why an entry must not be extracted, judged from its header alone; None when fine."""
    mode = info.external_attr >> 16
    if "\x00" in name:
        return "the name holds a NUL character"
    if name.startswith("/"):
        return "absolute path"
    if _DRIVE.match(name):
        return "path with a drive letter"
    if ".." in name.split("/"):
        return "path with a '..' component"
    if posixpath.normpath(name) in (".", ""):
        return "empty name"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "not a regular file or folder (device, pipe or socket)"
    if info.flag_bits & 0x1:
        return "encrypted"
    return None


def _extract_one(
    archive: zipfile.ZipFile, plan: _Plan, bytes_left: int, issues: list[ImportIssue]
) -> int:
    """Write one entry; return the bytes written. Raise UnsafeArchive past the byte budget."""
    info = plan.info
    try:
        if plan.is_dir:
            plan.target.mkdir(parents=True, exist_ok=True)
            return 0
        plan.target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source, plan.target.open("xb") as target:
            return _copy_limited(source, target, info, bytes_left, plan.target)
    except FileExistsError:
        issues.append(ImportIssue(info.filename, "skipped: a file of that name already exists"))
    except (OSError, zipfile.BadZipFile, NotImplementedError) as exc:
        _remove_partial(plan.target)
        issues.append(ImportIssue(info.filename, f"skipped: cannot extract ({exc})"))
    return 0


def _copy_limited(
    source: IO[bytes], target: IO[bytes], info: zipfile.ZipInfo, bytes_left: int, path: Path
) -> int:
    written = 0
    while chunk := source.read(_CHUNK):
        written += len(chunk)
        if written > info.file_size or written > bytes_left:
            target.close()
            _remove_partial(path)
            raise UnsafeArchive(
                f"entry {info.filename!r} unpacks to more than the archive declared or the "
                "limit allows (zip bomb refused)"
            )
        target.write(chunk)
    return written


def _remove_partial(path: Path) -> None:
    """Remove a file this extraction began (opened with "xb", so never an older file)."""
    if path.is_file() and not path.is_symlink():
        path.unlink()

"""Find files under an import root by relative path, name or stem.

Annotation files name their image in many ways (VOC ``<filename>`` or ``<path>`` written on
another machine, manifest ``s3://`` URIs, a sidecar with the same stem), so importers look the
name up here instead of joining paths. Every path the index returns came from ``walk_files``:
a regular file inside the root, never a symbolic link, so a hostile annotation cannot make an
import read a file outside the folder it was given.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from .base import walk_files

__all__ = ["FileIndex", "basename_of"]

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def basename_of(reference: str) -> str:
    """The file name at the end of a path or URI written on any system (``/``, ``\\``, ``s3://``)."""
    text = reference.strip()
    if _URI.match(text):
        text = re.split(r"[?#]", text, maxsplit=1)[0]
    return text.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


class FileIndex:
    """Every file under ``root`` that ``accept`` keeps, skipping folders named in ``skip_dirs``."""

    def __init__(
        self,
        root: Path,
        *,
        accept: Callable[[Path], bool] = lambda path: True,
        skip_dirs: Iterable[str] = (),
    ) -> None:
        self.root = root
        skipped = {name.lower() for name in skip_dirs}
        self.paths: list[Path] = []
        self._by_relative: dict[str, Path] = {}
        self._by_name: dict[str, list[Path]] = {}
        self._by_stem: dict[str, list[Path]] = {}
        for path in walk_files(root):
            relative = path.relative_to(root)
            if any(part.lower() in skipped for part in relative.parts[:-1]) or not accept(path):
                continue
            self.paths.append(path)
            self._by_relative[relative.as_posix().lower()] = path
            self._by_name.setdefault(path.name.lower(), []).append(path)
            self._by_stem.setdefault(path.stem.lower(), []).append(path)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def named(self, name: str) -> list[Path]:
        """Files called ``name`` (case-insensitive: datasets move between Windows and Linux)."""
        return self._by_name.get(name.lower(), [])

    def with_stem(self, stem: str) -> list[Path]:
        return self._by_stem.get(stem.lower(), [])

    def at(self, reference: str, base: Path) -> Path | None:
        """The file ``reference`` points to when read relative to ``base`` (a folder in root).

        Absolute local paths count when they lie under the root; a path that climbs out of the
        root with ``..`` or is a URI does not (callers then fall back to the file name).
        """
        text = reference.strip().replace("\\", "/")
        if not text or _URI.match(text):
            return None
        if text.startswith("/") or _DRIVE.match(text):
            joined = self._inside_root(text)
            if joined is None:
                return None
        else:
            joined = posixpath.join(base.relative_to(self.root).as_posix(), text)
        normalized = posixpath.normpath(joined)
        if normalized == ".." or normalized.startswith("../") or normalized.startswith("/"):
            return None
        return self._by_relative.get(normalized.lower())

    def _inside_root(self, absolute: str) -> str | None:
        """``absolute`` relative to the root (as given or resolved), None when outside it."""
        for root in (self.root, self.root.resolve()):
            prefix = root.as_posix().rstrip("/") + "/"
            if absolute.lower().startswith(prefix.lower()):
                return absolute[len(prefix) :]
        return None

    def closest(self, candidates: list[Path], near: Path) -> Path | None:
        """The candidate nearest to folder ``near``; None when there is none.

        Nearest means: in ``near`` itself, else sharing the most trailing folder names with it
        (``annotations/train/a.xml`` pairs with ``images/train/a.jpg``, not
        ``images/val/a.jpg``), else sharing the longest leading path; ties keep walk order.
        """
        if not candidates:
            return None
        near_parts = PurePosixPath(self._relative_dir(near)).parts

        def score(path: Path) -> tuple[int, int, int]:
            parts = PurePosixPath(self._relative_dir(path.parent)).parts
            trailing = 0
            for mine, theirs in zip(reversed(parts), reversed(near_parts), strict=False):
                if mine.lower() != theirs.lower():
                    break
                trailing += 1
            leading = 0
            for mine, theirs in zip(parts, near_parts, strict=False):
                if mine.lower() != theirs.lower():
                    break
                leading += 1
            return (int(path.parent == near), trailing, leading)

        return max(candidates, key=score)

    def _relative_dir(self, folder: Path) -> str:
        try:
            return folder.relative_to(self.root).as_posix()
        except ValueError:
            return folder.as_posix()

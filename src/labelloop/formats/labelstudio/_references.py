"""Find the image a Label Studio task names in ``data.image``.

Label Studio writes the image as a URL-ish string that depends on how the file reached it:
``/data/upload/3/1a2b3c4d-cat.jpg`` (uploaded; 8 hex digits and a dash are prepended),
``/data/local-files/?d=photos/cat.jpg`` (local storage, relative to its document root),
``http://host/media/cat%20one.jpg``, ``s3://bucket/cat.jpg``, or a plain relative path (what
labelloop's export writes). The file is looked up by its path (relative to the JSON file, then
the root, then ever shorter trailing parts of the path), then by file name, nearest first.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from .._file_index import FileIndex

__all__ = ["ReferenceProblem", "find_image", "image_reference"]

_UPLOAD_PREFIX = re.compile(r"^[0-9a-fA-F]{8}-(?=.)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_IMAGE_KEYS = ("image", "img", "image_url", "url")


class ReferenceProblem(ValueError):
    """The task names its image in a way no file can match; the message says why."""


def image_reference(data: dict, suffixes: tuple[str, ...]) -> str | None:
    """The task's image: ``data.image`` or a usual key, else the first value naming an image.

    Label Studio projects may call the field anything (``$img``, ``$photo``).
    """
    for key in _IMAGE_KEYS:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    for value in data.values():
        if isinstance(value, str) and _path_of(value).lower().endswith(suffixes):
            return value.strip()
    return None


def find_image(reference: str, images: FileIndex, json_dir: Path) -> Path | None:
    if reference.lower().startswith("data:"):
        raise ReferenceProblem("the image is embedded in the JSON (a data: URI), not a file")
    path_text = _path_of(reference)
    found = None
    if not _SCHEME.match(reference):  # a path as written: relative to the JSON, then the root
        found = images.at(path_text, json_dir) or images.at(path_text, images.root)
    parts = [p for p in path_text.replace("\\", "/").split("/") if p not in ("", ".")]
    if found is None and ".." not in parts:
        for start in range(len(parts)):  # media/upload/3/x.jpg, upload/3/x.jpg, 3/x.jpg ...
            found = images.at("/".join(parts[start:]), images.root)
            if found is not None:
                break
    if found is None and parts:
        name = parts[-1]
        found = images.closest(images.named(name), json_dir)
        stripped = _UPLOAD_PREFIX.sub("", name)
        if found is None and stripped != name:
            found = images.closest(images.named(stripped), json_dir)
    return found


def _path_of(reference: str) -> str:
    """The decoded file path a reference carries (the ``d`` query of local-files URLs)."""
    text = reference.strip()
    if not (_SCHEME.match(text) or text.startswith("/data/")):
        return text
    parts = urlsplit(text)
    local = parse_qs(parts.query).get("d")
    if local:
        return local[0]
    return unquote(parts.path)

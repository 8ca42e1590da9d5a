"""Reading untrusted JSON annotation files (COCO, Label Studio) and checking their fields.

A file from a user may be huge, not UTF-8, not JSON, nested deep enough to exhaust the parser's
recursion, or hold numbers with thousands of digits. ``read_json`` turns each of these into a
``JsonProblem`` whose message fits the import report; the caller reports it for that one file
and goes on. The field helpers raise ``FieldProblem`` naming the field, so one bad box or image
entry is reported and dropped without losing the rest of the file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from . import base

__all__ = [
    "FieldProblem",
    "JsonProblem",
    "finite_number",
    "positive_int",
    "read_json",
    "sniff_json_head",
    "type_name",
]

# detect() reads at most this much of a file it cannot afford to parse whole.
_SNIFF_BYTES = 64 * 1024


class JsonProblem(ValueError):
    """A JSON file that cannot be read; the message says why, without the path."""


class FieldProblem(ValueError):
    """One field of a JSON record is missing or has a value of the wrong kind."""


def read_json(path: Path, *, max_bytes: int | None = None) -> object:
    """Parse ``path`` (UTF-8, a BOM allowed) or raise ``JsonProblem``."""
    # Looked up at call time so the limit can be lowered (tests, a stricter deployment).
    limit = base.MAX_ANNOTATION_FILE_BYTES if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise JsonProblem(
                f"the file is {size / 2**20:.0f} MiB, over the {limit / 2**20:.0f} MiB limit "
                "for annotation files; refused"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise JsonProblem(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonProblem(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonProblem(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise JsonProblem("refused: the JSON is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise JsonProblem(f"not valid JSON: {exc}") from None


def sniff_json_head(path: Path, size: int = _SNIFF_BYTES) -> str:
    """The first ``size`` bytes of a file as text (lossy), for cheap guesses in detect()."""
    try:
        with path.open("rb") as handle:
            return handle.read(size).decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")
    except OSError:
        return ""


def type_name(value: object) -> str:
    """A JSON-ish name for the type of ``value`` (for messages)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def finite_number(value: object, field: str) -> float:
    """``value`` as a float; ``FieldProblem`` for text, booleans, null, NaN and infinities."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldProblem(f"{field} is {_shown(value)}, not a number")
    number = float(value)
    if not math.isfinite(number):
        raise FieldProblem(f"{field} is {number}, not a finite number")
    return number


def positive_int(value: object, field: str) -> int:
    """A whole number > 0 (image width/height); ``FieldProblem`` otherwise."""
    number = finite_number(value, field)
    if not number.is_integer() or number < 1:
        raise FieldProblem(f"{field} is {_shown(value)}, not a whole number above 0")
    return int(number)


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False) if _is_small(value) else type_name(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_small(value: object) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))

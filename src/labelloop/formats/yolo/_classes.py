"""YOLO class names: ``data.yaml`` (ultralytics), ``classes.txt`` (labelImg), ``*.names`` (darknet).

The first file found in ``CLASS_FILES`` order wins (data.yaml first: it states each index
explicitly); another file that disagrees with it is reported, not merged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from labelloop.domain import InvalidInput
from labelloop.domain.rules import validate_label_name

from ..base import ImportContext

__all__ = ["CLASS_FILES", "LABEL_DIRS", "ClassNames", "is_class_file", "read_class_names"]

CLASS_FILES = ("data.yaml", "data.yml", "dataset.yaml", "dataset.yml", "classes.txt", "obj.names")
LABEL_DIRS = ("labels", "annotations")
MAX_CLASS_FILE_BYTES = 1024 * 1024  # thousands of class names fit in a fraction of it


@dataclass
class ClassNames:
    names: dict[int, str] = field(default_factory=dict)
    source: str | None = None  # the file they came from, relative to the root


def is_class_file(path: Path) -> bool:
    return path.name.lower() in CLASS_FILES or path.suffix.lower() == ".names"


def read_class_names(root: Path, ctx: ImportContext) -> ClassNames:
    chosen: ClassNames | None = None
    unreadable: list[str] = []
    for path in _candidates(root):
        found = _read_file(path, ctx)
        if found is None:
            unreadable.append(ctx.display(path))
            continue
        if chosen is None:
            chosen = found
        elif found.names != chosen.names:
            ctx.warn(path, f"class names differ from {chosen.source}, which is the one used")
    if chosen is None and unreadable:
        # The names exist but cannot be read (reported as an error above). Naming labels by
        # class index ("0", "1", ...) would add labels later imports never match, so no class
        # is known: boxes are dropped and their images import unlabeled, ready to be labeled by
        # importing again once the file is fixed.
        return ClassNames({}, unreadable[0])
    if chosen is None:
        ctx.warn(
            root,
            "no class-names file (data.yaml, classes.txt or obj.names): "
            "labels are named by their class index",
        )
        return ClassNames()
    return chosen


def _candidates(root: Path) -> list[Path]:
    folders = [root] + [root / name for name in LABEL_DIRS]
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        named = [folder / name for name in CLASS_FILES]
        darknet = sorted(p for p in folder.glob("*.names") if p.name.lower() != "obj.names")
        found += [p for p in named + darknet if p.is_file() and not p.is_symlink()]
    return found


def _read_file(path: Path, ctx: ImportContext) -> ClassNames | None:
    if path.stat().st_size > MAX_CLASS_FILE_BYTES:
        ctx.error(path, f"over {MAX_CLASS_FILE_BYTES // 1024} KiB, not a class-names file")
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        ctx.error(path, f"cannot read class names: {exc}")
        return None
    if path.suffix.lower() in (".yaml", ".yml"):
        raw = _names_from_yaml(text, path, ctx)
    else:
        raw = _names_from_lines(text, path, ctx)
    if raw is None:
        return None
    names: dict[int, str] = {}
    for index, name in raw.items():
        try:
            names[index] = validate_label_name(name)
        except InvalidInput as exc:
            ctx.warn(path, f"class {index}: {exc}; its boxes are dropped")
    return ClassNames(names, ctx.display(path))


def _names_from_lines(text: str, path: Path, ctx: ImportContext) -> dict[int, str]:
    lines = text.rstrip().splitlines()
    names: dict[int, str] = {}
    for index, line in enumerate(lines):
        if line.strip():
            names[index] = line.strip()
        else:
            ctx.warn(path, f"line {index + 1} is empty: class {index} has no name")
    return names


def _names_from_yaml(text: str, path: Path, ctx: ImportContext) -> dict[int, str] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        ctx.error(path, f"not valid YAML: {exc}")
        return None
    except RecursionError:  # PyYAML parses nesting recursively: a hostile file goes deep
        ctx.error(path, "YAML nested too deeply to be a class-names file")
        return None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, list):
        pairs = list(enumerate(names))
    elif isinstance(names, dict):
        pairs = list(names.items())
    else:
        ctx.error(path, "has no 'names:' list or mapping of class index to name")
        return None
    result: dict[int, str] = {}
    for key, name in pairs:
        index = _class_index(key)
        if index is None or not isinstance(name, (str, int, float)) or isinstance(name, bool):
            ctx.warn(path, f"names entry {key!r}: {name!r} is not 'index: name'; skipped")
            continue
        result[index] = str(name)
    return result


def _class_index(key: object) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if key >= 0 else None
    if isinstance(key, str) and key.strip().isdigit():
        return int(key.strip())
    return None

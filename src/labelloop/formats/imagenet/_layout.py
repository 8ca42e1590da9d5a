"""Where the class folders are, and how a label becomes a folder name and back.

``<root>/<class>/<image>`` is the layout; ``<root>/<split>/<class>/<image>`` (``train/``,
``val/``, ``test/`` ...) is accepted when every folder in the root is a split name, so a dataset
shipped with its splits does not import ``train`` as a class. Images deeper than the class
folder keep that class (``dog/beagle/x.jpg`` is a dog). Images directly in a class root and in
``_unlabeled/`` are unlabeled.

Labels may hold characters a folder name cannot (``9/10``) or that would hide the folder
(``.net``): the exporter escapes ``%``, ``/``, ``\\``, a leading ``.`` and the reserved name
``_unlabeled`` as ``%XX``, and the importer decodes exactly those escapes.
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "LABELS_FILE",
    "PREDICTIONS_FILE",
    "SPLIT_NAMES",
    "UNLABELED_DIR",
    "class_roots",
    "folder_name_for",
    "label_for",
]

UNLABELED_DIR = "_unlabeled"
LABELS_FILE = "labels.txt"  # the dataset's labels in its order, one a line (labelloop writes it)
PREDICTIONS_FILE = "predictions.json"  # predictions of images waiting for confirmation
SPLIT_NAMES = frozenset({"train", "training", "val", "valid", "validation", "test", "testing"})

_ESCAPES = {"%": "%25", "/": "%2F", "\\": "%5C"}
_DECODE = re.compile(r"%(25|2F|5C|2E|5F)", re.IGNORECASE)
_DECODED = {"25": "%", "2F": "/", "5C": "\\", "2E": ".", "5F": "_"}


def folder_name_for(label: str) -> str:
    name = "".join(_ESCAPES.get(ch, ch) for ch in label)
    if name.startswith("."):
        name = "%2E" + name[1:]
    if name.lower() == UNLABELED_DIR:
        name = "%5F" + name[1:]
    return name


def label_for(folder_name: str) -> str:
    return _DECODE.sub(lambda m: _DECODED[m.group(1).upper()], folder_name)


def class_roots(root: Path) -> list[Path]:
    """The folders whose subfolders are classes: the root, or each split folder in it."""
    folders = _visible_subfolders(root)
    splits = [f for f in folders if f.name.lower() in SPLIT_NAMES]
    if folders and len(splits) == len(folders) and any(_visible_subfolders(s) for s in splits):
        return splits
    return [root]


def _visible_subfolders(folder: Path) -> list[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [e for e in entries if not e.name.startswith(".") and e.is_dir() and not e.is_symlink()]

"""Every image file under the root, at any depth, unlabeled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.imaging import IMAGE_SUFFIXES, looks_like_image

from .._scan import scan_files
from ..base import ImportContext, ImportItem

__all__ = ["NOT_AN_IMAGE", "read_folder"]

NOT_AN_IMAGE = f"not an image file (images end in {', '.join(IMAGE_SUFFIXES)})"


def read_folder(root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
    for path in scan_files(root, ctx):
        if not looks_like_image(path):
            # Reported rather than ignored, so a person sees that LICENSE or labels.csv were
            # not taken for data (and that a folder of .heic photos imported nothing).
            ctx.error(path, NOT_AN_IMAGE)
            continue
        yield ImportItem(path=path, relative_path=path.relative_to(root).as_posix())

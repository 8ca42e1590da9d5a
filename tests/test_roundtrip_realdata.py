"""Import -> export -> re-import through the database on the real datasets in ../shared/data.

Gives the same images (by content), labels and boxes, for every format that can hold the data.
Skipped when ../shared/data is absent; SQLite only (the database paths are covered elsewhere
on both backends, and these imports take a while).
"""

from __future__ import annotations

import pytest

from conftest import shared_dataset
from labelloop.config import Settings
from labelloop.services import browsing, datasets, exporting, importing
from labelloop.services.context import AppContext

pytestmark = pytest.mark.realdata

CLASSIFICATION = {"clothing_small": 1485, "sign_digits": 2062}
DETECTION = {"bccd": 364, "playing_cards_voc": 363}
CLASSIFICATION_FORMATS = ["imagenet", "manifest", "labelstudio"]
DETECTION_FORMATS = ["voc", "coco", "yolo", "manifest", "labelstudio"]


@pytest.fixture(scope="module")
def sqlite_app(tmp_path_factory):
    home = tmp_path_factory.mktemp("realdata")
    app = AppContext(Settings.for_home(home))
    yield app
    app.close()


def content(app, name):
    """{sha256: (label, sorted boxes rounded to 0.5 px)} of every image of a dataset."""
    result = {}
    after = 0
    while True:
        page = browsing.list_images(app, name, after=after, limit=1000)
        for view in page.items:
            a = view.annotation
            boxes = (
                tuple(
                    sorted(
                        (b.label, round(b.x * 2), round(b.y * 2), round(b.w * 2), round(b.h * 2))
                        for b in a.boxes
                    )
                )
                if a
                else None
            )
            result[view.image.sha256] = (a.label if a else None, boxes if a and a.boxes else None)
        if page.next_after is None:
            return result
        after = page.next_after


def close_enough(a, b):
    """Same labels; boxes equal within one half-pixel step (percent formats round)."""
    if a.keys() != b.keys():
        return False
    for sha, (label, boxes) in a.items():
        other_label, other_boxes = b[sha]
        if label != other_label or (boxes is None) != (other_boxes is None):
            return False
        if boxes is not None:
            if len(boxes) != len(other_boxes):
                return False
            for x, y in zip(boxes, other_boxes, strict=True):
                if x[0] != y[0] or max(abs(p - q) for p, q in zip(x[1:], y[1:], strict=True)) > 1:
                    return False
    return True


@pytest.mark.parametrize("name", list(CLASSIFICATION))
def test_classification_roundtrip(sqlite_app, tmp_path, name):
    _roundtrip(
        sqlite_app,
        tmp_path,
        name,
        "classification",
        "imagenet",
        CLASSIFICATION_FORMATS,
        CLASSIFICATION[name],
    )


@pytest.mark.parametrize("name", list(DETECTION))
def test_detection_roundtrip(sqlite_app, tmp_path, name):
    _roundtrip(sqlite_app, tmp_path, name, "detection", "voc", DETECTION_FORMATS, DETECTION[name])


def _roundtrip(app, tmp_path, name, task, source_format, formats, expected_images):
    source = shared_dataset(name)
    datasets.create_dataset(app, name, task)
    report = importing.import_path(app, name, source, format_name=source_format)
    assert report.imported == expected_images
    original = content(app, name)
    for fmt in formats:
        out = tmp_path / fmt
        exporting.export_dataset(app, name, out, format_name=fmt)
        copy = f"{name}-{fmt}"
        datasets.create_dataset(app, copy, task)
        again = importing.import_path(app, copy, out, format_name="auto")
        assert again.format == fmt
        assert again.imported == expected_images, again.skipped[:5]
        assert close_enough(original, content(app, copy)), f"{fmt} changed the data"
        assert datasets.get_dataset(app, copy).label_names() == datasets.get_dataset(
            app, name
        ).label_names() or fmt in ("manifest", "labelstudio")

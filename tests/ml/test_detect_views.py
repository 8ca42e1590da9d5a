"""ml.detect views: EXIF-aware sizes, letterboxing and box mapping between image and input."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from labelloop.ml.detect._features import (
    FLIPPED,
    ORIGINAL,
    View,
    boxes_from_view,
    boxes_to_view,
    displayed_size,
    load_view,
)
from labelloop.ml.detect._validation import choose_input_size


def test_displayed_size_follows_exif_rotation(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, displayed portrait
    Image.new("RGB", (80, 40), (200, 10, 10)).save(path, exif=exif)
    assert displayed_size(path) == (40, 80)
    pixels, size = load_view(path, 64, ORIGINAL)
    assert size == (40, 80) and pixels.shape == (3, 64, 64)
    # Content fills the left 32 columns (40 * 64/80); the rest is padding (~0 after norm).
    assert abs(float(pixels[:, :, 40:].mean())) < 0.01
    assert float(pixels[0, :, :30].mean()) > 0.5


@pytest.mark.parametrize("view", [ORIGINAL, FLIPPED, View(flip=True, scale=0.7)])
def test_box_mapping_round_trips(view):
    boxes = np.array([[10.0, 20.0, 110.0, 60.0], [0.0, 0.0, 300.0, 200.0]])
    mapped = boxes_to_view(boxes, (300, 200), 256, view)
    assert (mapped >= 0).all() and (mapped <= 256 * view.scale + 1e-9).all()
    np.testing.assert_allclose(boxes_from_view(mapped, (300, 200), 256, view), boxes)


def test_flipped_view_mirrors_x():
    mapped = boxes_to_view(np.array([[0.0, 0.0, 30.0, 10.0]]), (100, 50), 100, FLIPPED)
    np.testing.assert_allclose(mapped, [[70.0, 0.0, 100.0, 10.0]])


def test_input_size_follows_the_smallest_objects():
    small = [(np.array([[0, 0, 30, 30.0]]), np.array([0]))]
    large = [(np.array([[0, 0, 200, 300.0]]), np.array([0]))]
    assert choose_input_size([(640, 480)], small) == 512  # 30 px of 640 -> 24 px at 512
    assert choose_input_size([(640, 480)], large) == 320

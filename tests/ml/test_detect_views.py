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


def test_feature_cache_evicts_least_recently_used_files_first(tmp_path):
    import os

    from labelloop.ml.detect import prune_feature_cache

    files = []
    for age, name in enumerate(["newest", "middle", "oldest"]):
        file = tmp_path / f"{name}.npz"
        file.write_bytes(b"x" * 1000)
        stamp = 1_700_000_000 - age * 60
        os.utime(file, (stamp, stamp))
        files.append(file)
    (tmp_path / "notes.txt").write_bytes(b"y" * 5000)  # not a feature file: never touched

    assert prune_feature_cache(tmp_path, 3000) == (0, 0)
    assert prune_feature_cache(tmp_path, 1500) == (2, 2000)
    assert [f.name for f in files if f.exists()] == ["newest.npz"]
    assert (tmp_path / "notes.txt").exists()
    assert prune_feature_cache(tmp_path, 0) == (1, 1000)


def test_feature_cache_size_comes_from_the_environment():
    from labelloop.config import Settings

    home = {"LABELLOOP_HOME": "/tmp/somewhere"}
    assert Settings.from_env(home).feature_cache_bytes == 4_000_000_000
    assert Settings.from_env({**home, "LABELLOOP_FEATURE_CACHE_GB": "0.5"}).feature_cache_bytes \
        == 500_000_000
    for bad in ("lots", "-1", "nan"):
        with pytest.raises(ValueError, match="LABELLOOP_FEATURE_CACHE_GB"):
            Settings.from_env({**home, "LABELLOOP_FEATURE_CACHE_GB": bad})


def test_a_damaged_or_vanished_cache_file_is_computed_again(tmp_path, model_cache):
    from labelloop.ml.detect._features import FeatureStore

    image = tmp_path / "scene.png"
    Image.new("RGB", (96, 64), (200, 30, 30)).save(image)
    cache = tmp_path / "features"
    first = FeatureStore(model_cache, 64, feature_cache_dir=cache).get([image], ORIGINAL)[0]
    [file] = cache.glob("*.npz")
    file.write_bytes(b"not a zip file")  # damaged on disk
    again = FeatureStore(model_cache, 64, feature_cache_dir=cache).get([image], ORIGINAL)[0]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    [rewritten] = cache.glob("*.npz")
    assert rewritten.read_bytes()[:2] == b"PK"  # a real .npz again

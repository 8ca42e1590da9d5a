"""ml.features: backbone, ONNX export, preprocessing, extractor and embedding cache.

Self-contained: images are generated with Pillow in tmp_path; the ONNX graphs are exported
once per module into a temporary cache. The realdata test uses ../shared/data when present.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.ml.features import (
    EMBEDDING_DIM,
    PREPROCESS_VERSION,
    VIEW_ORIGINAL,
    Cancelled,
    EmbeddingCache,
    FeatureExtractor,
    GraphKind,
    ImageDecodeError,
    InMemoryEmbeddingCache,
    ResizeMode,
    backbone_id,
    embed_with_cache,
    embedding_key,
    ensure_onnx,
    onnx_export,
)
from labelloop.ml.features.preprocess import (
    load_for_backbone,
    load_rgb,
    normalise,
    resize_for_backbone,
)

SHARED_DATA = Path(__file__).parents[2] / ".." / "shared" / "data"
EXIF_ORIENTATION = 0x0112
RED, BLUE, GREEN = (230, 20, 20), (20, 20, 230), (20, 200, 20)


# -- helpers -------------------------------------------------------------------------------


def textured_image(size: tuple[int, int], seed: int) -> Image.Image:
    """A random blocky colour image: distinct images get distinct embeddings."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, size=(size[1] // 8 + 1, size[0] // 8 + 1, 3), dtype=np.uint8)
    pixels = np.kron(blocks, np.ones((8, 8, 1), dtype=np.uint8))[: size[1], : size[0]]
    return Image.fromarray(pixels, mode="RGB")


def write_images(folder: Path, count: int, *, size=(96, 80), start_seed=0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"img{start_seed + i:03d}.png"
        textured_image(size, start_seed + i).save(path)
        paths.append(path)
    return paths


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def relative_error(expected: np.ndarray, actual: np.ndarray) -> float:
    return float(np.abs(expected - actual).max() / max(np.abs(expected).max(), 1e-12))


def half_red_half_blue(size: tuple[int, int]) -> Image.Image:
    img = Image.new("RGB", size, BLUE)
    img.paste(RED, (0, 0, size[0] // 2, size[1]))  # left half red
    return img


def save_with_orientation(img: Image.Image, path: Path, orientation: int) -> Path:
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    img.save(path, format="JPEG", quality=95, exif=exif.tobytes())
    return path


def is_close_colour(pixel, colour, tolerance=40) -> bool:
    return all(abs(int(a) - int(b)) <= tolerance for a, b in zip(pixel, colour, strict=True))


class SpyExtractor:
    """Wraps a FeatureExtractor and records which paths were embedded."""

    def __init__(self, inner: FeatureExtractor):
        self.inner = inner
        self.embedded_paths: list[Path] = []

    @property
    def backbone_id(self) -> str:
        return self.inner.backbone_id

    @property
    def preprocess_version(self) -> str:
        return self.inner.preprocess_version

    def embed(self, paths, **kwargs):
        self.embedded_paths.extend(Path(p) for p in paths)
        return self.inner.embed(paths, **kwargs)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def extractor(model_cache) -> FeatureExtractor:
    return FeatureExtractor(model_cache)


@pytest.fixture(scope="module")
def torch_model():
    from labelloop.ml.features.efficientnet_lite import load_efficientnet_lite0

    return load_efficientnet_lite0()


# -- backbone and ONNX ---------------------------------------------------------------------


def test_backbone_id_names_the_weights():
    ident = backbone_id()
    name, _, digest = ident.partition("@")
    assert name == "efficientnet-lite0"
    assert len(digest) == 12 and all(c in "0123456789abcdef" for c in digest)
    assert backbone_id() == ident


def test_torch_and_onnx_embeddings_agree(torch_model, model_cache):
    import onnxruntime as ort
    import torch

    x = np.random.default_rng(0).uniform(-1, 1, size=(3, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model.forward_embedding(torch.from_numpy(x)).numpy()
    session = ort.InferenceSession(str(ensure_onnx(model_cache, GraphKind.EMBEDDING)))
    (actual,) = session.run(None, {onnx_export.INPUT_NAME: x})
    assert actual.shape == (3, EMBEDDING_DIM)
    assert relative_error(expected, actual) < 1e-4


def test_torch_and_onnx_pyramid_agree_at_another_size(torch_model, model_cache):
    import onnxruntime as ort
    import torch

    from labelloop.ml.features.efficientnet_lite import PYRAMID_CHANNELS

    x = np.random.default_rng(1).uniform(-1, 1, size=(2, 3, 256, 320)).astype(np.float32)
    with torch.no_grad():
        expected = torch_model.forward_pyramid(torch.from_numpy(x))
    session = ort.InferenceSession(str(ensure_onnx(model_cache, GraphKind.PYRAMID)))
    outputs = session.run(None, {onnx_export.INPUT_NAME: x})
    assert sorted(expected) == [8, 16, 32]
    for stride, actual in zip(sorted(expected), outputs, strict=True):
        assert actual.shape == (2, PYRAMID_CHANNELS[stride], 256 // stride, 320 // stride)
        assert relative_error(expected[stride].numpy(), actual) < 1e-4


def test_input_sides_must_be_multiples_of_32(torch_model):
    import torch

    with pytest.raises(ValueError, match="multiples of 32"):
        torch_model.forward_embedding(torch.zeros(1, 3, 225, 224))
    with pytest.raises(ValueError, match=r"\(n, 3, H, W\)"):
        torch_model.forward_pyramid(torch.zeros(3, 224, 224))


def test_onnx_file_is_cached_and_keyed(model_cache):
    first = ensure_onnx(model_cache, GraphKind.EMBEDDING)
    stamp = first.stat().st_mtime_ns
    second = ensure_onnx(model_cache, "embedding")
    assert second == first and second.stat().st_mtime_ns == stamp
    from labelloop.ml.features.weights import weights_sha256

    assert weights_sha256()[:16] in first.name
    assert f"g{onnx_export.GRAPH_VERSION}" in first.name
    assert not [p for p in model_cache.iterdir() if p.name.endswith(".tmp")]


def test_failed_export_leaves_no_file(tmp_path, monkeypatch):
    def broken_export(kind, weights, destination):
        destination.write_bytes(b"half an onnx file")
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr(onnx_export, "_export", broken_export)
    with pytest.raises(RuntimeError, match="exporter crashed"):
        ensure_onnx(tmp_path / "cache", GraphKind.EMBEDDING)
    assert list((tmp_path / "cache").iterdir()) == []


# -- preprocessing -------------------------------------------------------------------------


def test_exif_rotated_jpeg_decodes_as_displayed(tmp_path):
    # Stored landscape with the left half red; orientation 6 = displayed turned 90° clockwise,
    # so a viewer shows a portrait image whose top half is red.
    path = save_with_orientation(half_red_half_blue((80, 40)), tmp_path / "rot.jpg", 6)
    img = load_rgb(path)
    assert img.size == (40, 80)
    assert is_close_colour(img.getpixel((20, 10)), RED)
    assert is_close_colour(img.getpixel((20, 70)), BLUE)


def test_unreadable_exif_keeps_the_image_as_stored(tmp_path, monkeypatch):
    from labelloop.ml.features import preprocess

    def broken_exif(img, **kwargs):
        raise SyntaxError("not a TIFF file")

    monkeypatch.setattr(preprocess.ImageOps, "exif_transpose", broken_exif)
    path = save_with_orientation(half_red_half_blue((80, 40)), tmp_path / "rot.jpg", 6)
    assert load_rgb(path).size == (80, 40)


def test_large_jpeg_decodes_at_reduced_scale_still_oriented(tmp_path):
    path = save_with_orientation(half_red_half_blue((2000, 1600)), tmp_path / "big.jpg", 6)
    img = load_rgb(path, draft_size=(224, 224))
    # 1/4 scale keeps both sides >= 224 (1/8 would give 200 on the short side).
    assert img.size == (400, 500)
    assert is_close_colour(img.getpixel((200, 20)), RED)
    pixels = load_for_backbone(path)
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8


@pytest.mark.parametrize(
    ("make", "expected_corner"),
    [
        (lambda: Image.new("RGBA", (50, 40), (10, 200, 10, 0)), (255, 255, 255)),
        (lambda: Image.new("LA", (50, 40), (0, 0)), (255, 255, 255)),
        (lambda: Image.new("L", (50, 40), 77), (77, 77, 77)),
        (lambda: Image.new("1", (50, 40), 1), (255, 255, 255)),
        (lambda: Image.new("CMYK", (50, 40), (0, 0, 0, 0)), (255, 255, 255)),
        (lambda: Image.new("I;16", (50, 40), 128 * 257), (128, 128, 128)),
        (lambda: Image.new("I;16", (50, 40), 65535), (255, 255, 255)),
        (lambda: Image.new("I;16", (50, 40), 200), (1, 1, 1)),
        (lambda: Image.new("F", (50, 40), 0.5), (0, 0, 0)),
    ],
    ids=[
        "rgba-transparent",
        "la-transparent",
        "grey",
        "bilevel",
        "cmyk",
        "16bit-mid",
        "16bit-max",
        "16bit-dark",
        "float-flat",
    ],
)
def test_modes_become_8bit_rgb(tmp_path, make, expected_corner):
    img = make()
    path = tmp_path / ("img.tif" if img.mode in {"CMYK", "I;16", "F"} else "img.png")
    img.save(path)
    pixels = load_for_backbone(path)
    assert pixels.shape == (224, 224, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[0, 0]) == expected_corner


def test_palette_with_transparency_is_composited_on_white(tmp_path):
    img = Image.new("P", (30, 30), 0)
    img.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    img.paste(1, (15, 0, 30, 30))
    img.info["transparency"] = 0
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)
    rgb = load_rgb(path)
    assert rgb.getpixel((2, 2)) == (255, 255, 255)
    assert rgb.getpixel((25, 2)) == (200, 0, 0)


def test_center_crop_keeps_the_middle_squash_keeps_everything():
    img = Image.new("RGB", (400, 200), GREEN)
    img.paste(RED, (0, 0, 100, 200))
    img.paste(BLUE, (300, 0, 400, 200))
    cropped = np.asarray(resize_for_backbone(img, 224, ResizeMode.CENTER_CROP))
    squashed = np.asarray(resize_for_backbone(img, 224, ResizeMode.SQUASH))
    assert cropped.shape == squashed.shape == (224, 224, 3)
    assert is_close_colour(cropped[112, 2], GREEN) and is_close_colour(cropped[112, -3], GREEN)
    assert is_close_colour(squashed[112, 2], RED) and is_close_colour(squashed[112, -3], BLUE)


def test_normalise_gives_nchw_float_in_tf_range():
    pixels = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    pixels[1] = 255
    out = normalise(pixels)
    assert out.shape == (2, 3, 32, 32) and out.dtype == np.float32
    assert np.allclose(out[0], -127 / 128) and np.allclose(out[1], 1.0)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\0" * 50])
def test_undecodable_file_raises_error_naming_it(tmp_path, content):
    path = tmp_path / "broken.jpg"
    path.write_bytes(content)
    with pytest.raises(ImageDecodeError, match=r"broken\.jpg") as info:
        load_for_backbone(path)
    assert info.value.path == str(path)


def test_truncated_jpeg_is_a_decode_error(tmp_path):
    path = tmp_path / "cut.jpg"
    textured_image((300, 300), 3).save(path, quality=90)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ImageDecodeError, match=r"cut\.jpg"):
        load_for_backbone(path)


def test_preprocess_version_names_the_choices():
    number, _, choices = PREPROCESS_VERSION.partition(":")
    assert number.isdigit() and "center-crop224" in choices and "tf127" in choices


# -- extractor -----------------------------------------------------------------------------


def test_embed_matches_bare_session_and_is_batch_independent(extractor, tmp_path):
    paths = write_images(tmp_path, 5)
    one_batch = extractor.embed(paths, batch_size=8)
    small_batches = extractor.embed(paths, batch_size=2)
    assert one_batch.embeddings.shape == (5, EMBEDDING_DIM)
    assert one_batch.embeddings.dtype == np.float32 and one_batch.flipped is None
    assert one_batch.failed == {}
    assert relative_error(one_batch.embeddings, small_batches.embeddings) < 1e-4
    direct = extractor.embed_array(normalise(np.stack([load_for_backbone(p) for p in paths])))
    assert relative_error(direct, one_batch.embeddings) < 1e-5
    # Different images, different embeddings.
    assert np.abs(one_batch.embeddings[0] - one_batch.embeddings[1]).max() > 1e-2


def test_corrupt_and_missing_files_are_reported_not_fatal(extractor, tmp_path):
    good = write_images(tmp_path, 3)
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\x00garbage" * 10)
    missing = tmp_path / "gone.png"
    paths = [good[0], corrupt, good[1], missing, good[2]]
    result = extractor.embed(paths, batch_size=2, flip=True)
    assert sorted(result.failed) == [1, 3]
    assert "corrupt.jpg" in result.failed[1] and "gone.png" in result.failed[3]
    assert result.ok.tolist() == [True, False, True, False, True]
    assert np.isfinite(result.embeddings[result.ok]).all()
    assert np.isnan(result.embeddings[~result.ok]).all()
    assert np.isnan(result.flipped[~result.ok]).all()
    alone = extractor.embed([good[1]])
    assert relative_error(alone.embeddings[0], result.embeddings[2]) < 1e-4


def test_flipped_view_is_the_embedding_of_the_mirrored_image(extractor, tmp_path):
    img = textured_image((224, 224), 11)
    img.save(tmp_path / "a.png")
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(tmp_path / "a_mirror.png")
    result = extractor.embed([tmp_path / "a.png", tmp_path / "a_mirror.png"], flip=True)
    assert result.flipped is not None
    assert relative_error(result.embeddings[1], result.flipped[0]) < 1e-4
    assert relative_error(result.embeddings[0], result.flipped[1]) < 1e-4


def test_progress_reports_each_batch(extractor, tmp_path):
    paths = write_images(tmp_path, 5)
    calls = []
    extractor.embed(paths, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]


def test_cancel_stops_between_batches(extractor, tmp_path):
    paths = write_images(tmp_path, 6)
    calls = []
    with pytest.raises(Cancelled):
        extractor.embed(
            paths,
            batch_size=2,
            progress=lambda done, total: calls.append(done),
            should_cancel=lambda: len(calls) >= 1,
        )
    assert calls == [2]


def test_empty_input_and_bad_batch_size(extractor):
    result = extractor.embed([])
    assert result.embeddings.shape == (0, EMBEDDING_DIM) and result.failed == {}
    with pytest.raises(ValueError, match="batch_size"):
        extractor.embed(["x.png"], batch_size=0)


def test_constructor_does_no_work(tmp_path):
    FeatureExtractor(tmp_path / "never-created", weights_path=tmp_path / "missing.pth")
    assert not (tmp_path / "never-created").exists()


def test_raw_forward_benchmark_reports_a_rate(extractor):
    assert extractor.benchmark_raw_forward(batch_size=2, batches=1, warmup=0) > 0


# -- embedding cache -----------------------------------------------------------------------


def test_embedding_key_parts_and_validation():
    sha = "ab" * 32
    key = embedding_key(sha, "efficientnet-lite0@0123456789ab", PREPROCESS_VERSION)
    assert key.endswith(f"|{VIEW_ORIGINAL}|{sha}") and len(key) < 200
    assert key != embedding_key(sha, "efficientnet-lite0@0123456789ab", PREPROCESS_VERSION, "flip")
    assert key != embedding_key(sha, "other@1", PREPROCESS_VERSION)
    with pytest.raises(ValueError, match="sha256"):
        embedding_key("XYZ", "b", "p")
    with pytest.raises(ValueError, match="view"):
        embedding_key(sha, "b", "p", view="rotated")
    with pytest.raises(ValueError, match="backbone_id"):
        embedding_key(sha, "a|b", "p")


def test_in_memory_cache_follows_the_protocol():
    cache = InMemoryEmbeddingCache()
    assert isinstance(cache, EmbeddingCache)
    vector = np.arange(EMBEDDING_DIM, dtype=np.float32)
    cache.put_many({"k": vector})
    vector[0] = 99  # the cache kept its own copy
    assert cache.get_many(["k", "absent"])["k"][0] == 0
    assert list(cache.get_many(["absent"])) == []


def test_second_embed_with_cache_embeds_nothing(extractor, tmp_path):
    paths = write_images(tmp_path, 4)
    items = [(sha256_of(p), p) for p in paths]
    items.append(items[0])  # the same image twice (e.g. in two datasets) is embedded once
    cache = InMemoryEmbeddingCache()
    spy = SpyExtractor(extractor)
    progress = []
    first = embed_with_cache(
        spy, items, cache, flip=True, batch_size=3, progress=lambda d, t: progress.append(d)
    )
    assert len(spy.embedded_paths) == 4 and first.computed == 4 and first.cache_hits == 0
    assert len(cache) == 8  # original and flipped view of 4 images
    assert progress[-1] == 5
    np.testing.assert_array_equal(first.embeddings[0], first.embeddings[4])

    spy.embedded_paths.clear()
    second = embed_with_cache(spy, items, cache, flip=True)
    assert spy.embedded_paths == [] and second.computed == 0 and second.cache_hits == 5
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    np.testing.assert_array_equal(first.flipped, second.flipped)

    # Asking for the flipped view of an image cached without it embeds that image again.
    extra = write_images(tmp_path / "extra", 1, start_seed=50)[0]
    embed_with_cache(spy, [(sha256_of(extra), extra)], cache)
    spy.embedded_paths.clear()
    embed_with_cache(spy, [(sha256_of(extra), extra), items[1]], cache, flip=True)
    assert spy.embedded_paths == [extra]


def test_embed_with_cache_reports_failures_and_does_not_cache_them(extractor, tmp_path):
    good = write_images(tmp_path, 2)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"nope")
    items = [
        (sha256_of(good[0]), good[0]),
        (sha256_of(broken), broken),
        (sha256_of(good[1]), good[1]),
    ]
    cache = InMemoryEmbeddingCache()
    result = embed_with_cache(extractor, items, cache)
    assert list(result.failed) == [1] and "broken.png" in result.failed[1]
    assert len(cache) == 2
    key = embedding_key(items[1][0], extractor.backbone_id, extractor.preprocess_version)
    assert key not in cache


def test_cancelled_embed_with_cache_keeps_finished_batches(extractor, tmp_path):
    paths = write_images(tmp_path, 4)
    items = [(sha256_of(p), p) for p in paths]
    cache = InMemoryEmbeddingCache()
    batches = []
    with pytest.raises(Cancelled):
        embed_with_cache(
            extractor,
            items,
            cache,
            batch_size=2,
            progress=lambda d, t: batches.append(d),
            should_cancel=lambda: bool(batches),
        )
    assert len(cache) == 2


def test_cache_returning_wrong_shape_is_an_error(extractor, tmp_path):
    path = write_images(tmp_path, 1)[0]
    sha = sha256_of(path)
    cache = InMemoryEmbeddingCache()
    cache.put_many(
        {embedding_key(sha, extractor.backbone_id, extractor.preprocess_version): np.zeros(3)}
    )
    with pytest.raises(ValueError, match="shape"):
        embed_with_cache(extractor, [(sha, path)], cache)


# -- layering ------------------------------------------------------------------------------


def test_package_import_is_light_and_respects_layers():
    code = (
        "import sys, labelloop.ml.features as f, labelloop.ml.features.efficientnet_lite;"
        "bad = [m for m in sys.modules if m.split('.')[:2] in "
        "(['labelloop','domain'],['labelloop','storage'],['labelloop','services'],"
        "['labelloop','api'],['labelloop','jobs'],['labelloop','cli'])];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    light = subprocess.run(
        [sys.executable, "-c", "import sys, labelloop.ml.features; print('torch' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert light.stdout.strip() == "False"


def test_no_environment_variables_are_read():
    package = Path(onnx_export.__file__).parent
    for source in package.glob("*.py"):
        text = source.read_text()
        assert "os.environ" not in text and "getenv" not in text, source.name


# -- real data -----------------------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.slow
def test_embeddings_separate_real_classes(extractor):
    root = SHARED_DATA / "clothing_small"
    if not root.is_dir():
        pytest.skip(f"real data not found at {root.resolve()} (../shared/data is absent)")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    per_class = 30
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = sorted((root / name).glob("*.jpg"))
        chosen = np.random.default_rng(label).choice(len(files), per_class, replace=False)
        paths += [files[i] for i in sorted(chosen)]
        labels += [label] * per_class
    y = np.array(labels)
    result = extractor.embed(paths)
    assert result.failed == {}
    unit = result.embeddings / np.linalg.norm(result.embeddings, axis=1, keepdims=True)
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -np.inf)
    nn_accuracy = float((y[similarity.argmax(axis=1)] == y).mean())
    chance = 1 / len(classes)
    assert nn_accuracy > 3 * chance, f"1-NN leave-one-out accuracy {nn_accuracy:.2f}"


@pytest.mark.realdata
def test_real_exif_phone_photos_decode_upright(extractor):
    folder = SHARED_DATA / "sign_digits" / "7"
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder.resolve()} (../shared/data is absent)")
    big = [p for p in sorted(folder.iterdir()) if p.stat().st_size > 200_000]
    if not big:
        pytest.skip("the EXIF-rotated phone photos are not in sign_digits/7")
    for path in big:
        with Image.open(path) as raw:
            assert raw.getexif().get(EXIF_ORIENTATION) == 6
        shown = load_rgb(path, draft_size=(224, 224))
        assert min(shown.size) >= 224 and max(shown.size) < 1000  # decoded at 1/8 scale
    others = [p for p in sorted(folder.iterdir()) if p not in big][:40]
    result = extractor.embed(big + others)
    emb = result.embeddings / np.linalg.norm(result.embeddings, axis=1, keepdims=True)
    centroid = emb[len(big) :].mean(axis=0)
    # Upright decodes look like the other 7s; the same photos ignoring EXIF (sideways) less so.
    sideways = []
    for path in big:
        with Image.open(path) as raw:
            raw.draft("RGB", (224, 224))
            sideways.append(np.asarray(resize_for_backbone(raw.convert("RGB"))))
    side = extractor.embed_array(normalise(np.stack(sideways)))
    side /= np.linalg.norm(side, axis=1, keepdims=True)
    assert (emb[: len(big)] @ centroid).mean() > (side @ centroid).mean()


# ImageNet classes of footwear: clog, cowboy boot, Loafer, running shoe, sandal.
FOOTWEAR = {502, 514, 630, 770, 774}


@pytest.mark.realdata
def test_imagenet_classifier_recognises_real_shoes(torch_model):
    """The weights load strictly; this checks they also mean what they should."""
    import torch

    folder = SHARED_DATA / "clothing_small" / "shoes"
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder.resolve()} (../shared/data is absent)")
    paths = sorted(folder.glob("*.jpg"))[:16]
    x = torch.from_numpy(normalise(np.stack([load_for_backbone(p) for p in paths])))
    with torch.no_grad():
        top1 = torch_model(x).argmax(dim=1).tolist()
    assert sum(label in FOOTWEAR for label in top1) >= 12, top1


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice values are a Linux feature")
def test_decoding_threads_yield_the_cores_to_inference_on_a_quiet_machine(monkeypatch):
    import os
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from labelloop.ml.features import extractor

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def decoding_thread_niceness() -> int:
        with ThreadPoolExecutor(max_workers=1, initializer=extractor.yield_to_inference) as pool:
            return pool.submit(niceness).result()

    before = niceness()
    monkeypatch.setattr(extractor.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert decoding_thread_niceness() == min(before + extractor.DECODE_NICENESS, 19)
    assert niceness() == before  # the calling thread (inference) keeps its priority
    # Cores already busy: other processes would starve a niced decoder, so it stays level.
    monkeypatch.setattr(extractor.os, "getloadavg", lambda: (64.0, 64.0, 64.0))
    assert decoding_thread_niceness() == before

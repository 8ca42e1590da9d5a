"""ml.detect: the few-shot detector learns generated scenes, exports to ONNX, saves and loads.

Scenes are generated: red squares (class 0) and blue discs (class 1) of varied size on
textured backgrounds, boxes known exactly. One detector is trained per module (~1 minute on
2 cores) and shared by the tests that need one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from labelloop.ml.detect import (
    DetectorSettings,
    DetectorTrainer,
    TrainedDetector,
    mean_average_precision,
)
from labelloop.ml.features import Cancelled

SIZE = 256
SETTINGS = DetectorSettings(input_size=SIZE, steps=80, batch_size=4, cv_folds=2,
                            train_scales=(1.0,), use_unlabeled=False)
N_TRAIN, N_TEST = 14, 10


def _scene(rng: np.random.Generator, path: Path) -> list[tuple[int, float, float, float, float]]:
    width, height = 256, 192
    texture = rng.normal(0, 1, (height // 8, width // 8, 3))
    base = rng.uniform(60, 190, 3)
    background = np.clip(base + 25 * np.kron(texture, np.ones((8, 8, 1))), 0, 255)
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes: list[tuple[int, float, float, float, float]] = []
    for _ in range(int(rng.integers(1, 4))):
        label = int(rng.integers(0, 2))
        side = float(rng.integers(24, 80))
        for _attempt in range(20):
            x, y = float(rng.uniform(0, width - side)), float(rng.uniform(0, height - side))
            if all(x + side < bx or bx + bw < x or y + side < by or by + bh < y
                   for _, bx, by, bw, bh in boxes):
                break
        else:
            continue
        if label == 0:
            draw.rectangle([x, y, x + side - 1, y + side - 1], fill=(220, 30, 30))
        else:
            draw.ellipse([x, y, x + side - 1, y + side - 1], fill=(30, 60, 220))
        boxes.append((label, x, y, side, side))
    image.save(path)
    return boxes


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenes")
    rng = np.random.default_rng(7)
    paths, boxes = [], []
    for index in range(N_TRAIN + N_TEST):
        path = folder / f"scene_{index:02d}.png"
        boxes.append(_scene(rng, path))
        paths.append(path)
    return paths, boxes


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="module")
def trained(scenes, model_cache):
    paths, boxes = scenes
    calls = []
    detector = DetectorTrainer(model_cache, settings=SETTINGS).fit(
        paths[:N_TRAIN], boxes[:N_TRAIN], 2, progress=lambda done, total: calls.append(
            (done, total)))
    return detector, calls


def _truth(boxes):
    xyxy = np.array([[x, y, x + w, y + h] for _, x, y, w, h in boxes]).reshape(-1, 4)
    return xyxy, np.array([b[0] for b in boxes], dtype=np.int64)


def _ap_of(results, truths) -> float:
    predictions = []
    for r in results:
        boxes = np.concatenate([r.boxes, r.hint_boxes])
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        predictions.append((xyxy, np.concatenate([r.scores, r.hint_scores]),
                            np.concatenate([r.labels, r.hint_labels])))
    return mean_average_precision(predictions, truths, 2)[0]


def test_detector_learns_far_above_an_untrained_head(trained, scenes):
    import torch

    from labelloop.ml.detect._features import ORIGINAL
    from labelloop.ml.detect._head import DetectionHead
    from labelloop.ml.detect._inference import candidates_for, torch_runner

    detector, _ = trained
    paths, boxes = scenes
    truths = [_truth(b) for b in boxes[N_TRAIN:]]
    learned = _ap_of(detector.predict(paths[N_TRAIN:]), truths)
    torch.manual_seed(0)
    store = detector._store
    untrained = candidates_for(torch_runner(DetectionHead(2).eval()),
                               store.get(paths[N_TRAIN:], ORIGINAL),
                               [store.image_size(p) for p in paths[N_TRAIN:]], SIZE, ORIGINAL)
    baseline = mean_average_precision(
        [(c.boxes, c.scores, c.labels) for c in untrained], truths, 2)[0]
    assert learned >= 0.6, learned
    assert learned >= baseline + 0.4, (learned, baseline)


def test_metrics_and_thresholds_come_from_cross_validation(trained):
    detector, calls = trained
    metrics = detector.metrics
    for key in ("ap50_estimate", "show_threshold", "precision_at_show", "recall_at_show"):
        assert 0.0 <= metrics[key] <= 1.0, key
    assert metrics["held_out_images"] == N_TRAIN
    assert detector.show_threshold == metrics["show_threshold"]
    assert calls[-1][0] == calls[-1][1]  # the progress bar ends full
    assert all(b[0] <= b[1] for b in calls)


def test_predictions_are_well_formed(trained, scenes):
    detector, _ = trained
    paths, _ = scenes
    for result in detector.predict(paths[N_TRAIN:N_TRAIN + 4]):
        assert result.error is None
        assert result.boxes.shape == (len(result.labels), 4)
        assert (result.scores >= detector.show_threshold).all()
        assert (result.hint_scores < 1.0).all()
        assert result.hard_type in {"none", "false_detection", "missed_detection"}
        assert 0.0 <= result.hard_coefficient <= 1.0
        assert result.hard == (result.hard_type != "none")
        assert ((result.boxes[:, :2] >= 0) & (result.boxes[:, 2:] > 0)).all()
        assert (result.boxes[:, 0] + result.boxes[:, 2] <= 256 + 1e-6).all()


def test_unreadable_image_is_reported_not_raised(trained, tmp_path):
    detector, _ = trained
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    (result,) = detector.predict([broken])
    assert result.error and "broken.jpg" in result.error and len(result.boxes) == 0


def test_save_load_round_trip_predicts_the_same(trained, scenes, tmp_path, model_cache):
    detector, _ = trained
    paths, _ = scenes
    folder = detector.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["detector.json", "head.npz"]
    loaded = TrainedDetector.load(folder, cache_dir=model_cache)
    assert loaded.metrics == detector.metrics
    before = detector.predict(paths[N_TRAIN:N_TRAIN + 3])
    after = loaded.predict(paths[N_TRAIN:N_TRAIN + 3])
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a.boxes, b.boxes, atol=1e-3)
        np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
        assert a.hard_type == b.hard_type


def test_torch_and_onnx_export_agree(trained, scenes, tmp_path):
    import onnxruntime as ort
    import torch

    from labelloop.ml.detect._export import DetectionGraph
    from labelloop.ml.detect._features import ORIGINAL, load_view
    from labelloop.ml.features.efficientnet_lite import load_efficientnet_lite0

    detector, _ = trained
    paths, _ = scenes
    path = detector.export_onnx(tmp_path / "detector.onnx", max_detections=50)
    images = np.stack([load_view(p, SIZE, ORIGINAL)[0] for p in paths[N_TRAIN:N_TRAIN + 2]])
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images"]
    boxes, scores, labels = session.run(None, {"images": images})
    assert boxes.shape == (2, 50, 4) and scores.shape == (2, 50) and labels.shape == (2, 50)
    meta = detector.meta
    graph = DetectionGraph(load_efficientnet_lite0(), detector.head(), meta.platt.slope,
                           meta.platt.intercept, 50).eval()
    with torch.no_grad():
        t_boxes, t_scores, t_labels = (t.numpy() for t in graph(torch.from_numpy(images)))
    strong = t_scores > 0.05
    np.testing.assert_allclose(scores, t_scores, atol=1e-3)
    np.testing.assert_allclose(boxes[strong], t_boxes[strong], atol=0.5)
    assert (labels[strong] == t_labels[strong]).all()
    # The exported model finds the objects the detector's own predict shows.
    shown = detector.predict([paths[N_TRAIN]])[0]
    assert (scores[0] >= detector.show_threshold).sum() >= len(shown.boxes) - 1


def test_cancel_stops_training(scenes, model_cache):
    paths, boxes = scenes
    with pytest.raises(Cancelled):
        DetectorTrainer(model_cache, settings=SETTINGS).fit(
            paths[:4], boxes[:4], 2, should_cancel=lambda: True)


@pytest.mark.parametrize(
    ("bad_box", "message"),
    [
        ((0, 200.0, 10.0, 80.0, 20.0), "outside"),
        ((0, 10.0, 10.0, 0.0, 20.0), "zero size"),
        ((5, 10.0, 10.0, 20.0, 20.0), "unknown class index 5"),
        ((0, 10.0, 10.0), "expected"),
    ],
)
def test_bad_boxes_are_rejected_naming_the_problem(scenes, model_cache, bad_box, message):
    paths, boxes = scenes
    with pytest.raises(ValueError, match=message) as info:
        DetectorTrainer(model_cache).fit(paths[:2], [boxes[0], [bad_box]], 2)
    assert paths[1].name in str(info.value)


def test_mismatched_lists_and_class_count_are_rejected(scenes, model_cache):
    paths, boxes = scenes
    with pytest.raises(ValueError, match="2 images but 1 box lists"):
        DetectorTrainer(model_cache).fit(paths[:2], boxes[:1], 2)
    with pytest.raises(ValueError, match="n_classes"):
        DetectorTrainer(model_cache).fit(paths[:2], boxes[:2], 0)


def test_unlabeled_images_feed_pseudo_labels(scenes, model_cache):
    from dataclasses import replace

    paths, boxes = scenes
    settings = replace(SETTINGS, steps=40, use_unlabeled=True)
    detector = DetectorTrainer(model_cache, settings=settings).fit(
        paths[:N_TRAIN], boxes[:N_TRAIN], 2, unlabeled=paths[N_TRAIN:])
    # Pseudo-labels are taken only where held-out precision allows; the count is reported.
    assert 0 <= detector.metrics["pseudo_labeled_images"] <= N_TEST
    assert len(detector.predict(paths[N_TRAIN:N_TRAIN + 1])) == 1

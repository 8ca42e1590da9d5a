"""The exported ONNX detector answers what the native ``TrainedDetector`` answers.

A small detector is trained briefly on generated scenes (so that many of its boxes score near
its show threshold, where a different NMS or rounding shows), exported, and run through
``OnnxModel`` as a registered model would be; the native detector predicts the same files.
Every candidate must match: labels identical, scores within 1e-4, the same boxes. Where the
letterboxed image's short side is not a whole number of input pixels, the shown boxes must
match, their corners within the half input pixel the contract's resize arithmetic moves them.
The pieces the graph is built from (ONNX ``NonMaxSuppression`` against ``boxes.batched_nms``,
the image extent found from the padding) are checked on their own, on cases made to tell the
rules apart.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

from labelloop.ml.detect import DetectorSettings, DetectorTrainer
from labelloop.ml.detect._export import greedy_nms_keep, image_extent
from labelloop.ml.detect._inference import MAX_CANDIDATES, NMS_IOU
from labelloop.ml.detect.boxes import batched_nms
from labelloop.ml.runtime.contract import ModelContract
from labelloop.ml.runtime.onnx_model import OnnxModel
from seeding import draw_scene

pytestmark = pytest.mark.slow

SIZE = 256
CLASSES = ("square", "disc")
# Long side 320, so the input scale is 0.8 (one image pixel: 0.8 input pixels). 320 x 240
# letterboxes to 256 x 192 whole input pixels; 320 x 232 to 256 x 185.6, which the contract's
# resize rounds to 186 rows: the exported graph then clips boxes at row 186 where the native
# detector clips at 185.6 (it cannot see the image's size), and maps back by 232 / 186.
WHOLE = [(320, 240), (240, 320)]
FRACTIONAL = [(320, 232), (232, 320)]
SCALE = SIZE / 320
# Few steps on few images: a weak detector, with many boxes near its show threshold.
SETTINGS = DetectorSettings(
    input_size=SIZE, steps=40, batch_size=4, cv_folds=2, train_scales=(1.0,), use_unlabeled=False
)
N_TRAIN, N_TEST = 8, 12


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export-scenes")
    rng = np.random.default_rng(5)
    paths, boxes = {}, []
    for group, count, shapes in (
        ("train", N_TRAIN, WHOLE),
        ("whole", N_TEST, WHOLE),
        ("fractional", N_TEST, FRACTIONAL),
    ):
        paths[group] = []
        for index in range(count):
            path = folder / f"{group}_{index:02d}.png"
            drawn = draw_scene(rng, path, shapes[index % 2])
            paths[group].append(path)
            boxes.append([(CLASSES.index(label), x, y, w, h) for label, x, y, w, h in drawn])
    cache = tmp_path_factory.mktemp("export-model-cache")
    detector = DetectorTrainer(cache, settings=SETTINGS).fit(
        paths["train"], boxes[:N_TRAIN], len(CLASSES)
    )
    onnx_path = detector.export_onnx(folder / "detector.onnx")
    contract = ModelContract(
        task_type="detection",
        class_names=CLASSES,
        size=(SIZE, SIZE),
        mean=(127.0,) * 3,
        std=(128.0,) * 3,
        channels="RGB",
        layout="NCHW",
        resize="letterbox-top-left",
        input_name="images",
        pad_value=127.0,
        output_names={"boxes": "boxes", "scores": "scores", "labels": "labels"},
    )
    return detector, OnnxModel(onnx_path, contract), paths


def test_exported_detector_gives_every_native_candidate(exported):
    detector, model, paths = exported
    native = detector.all_candidates(paths["whole"])
    result = model.predict_paths(paths["whole"])
    assert not result.failed
    show = float(model.metadata()["show_threshold"])
    assert show == detector.show_threshold  # written in full, not rounded
    near_threshold = 0
    for path, (boxes, scores, labels), found in zip(
        paths["whole"], native, result.images, strict=True
    ):
        assert 0 < len(labels) <= MAX_CANDIDATES
        assert found.labels.tolist() == labels.tolist(), path.name
        np.testing.assert_allclose(found.scores, scores, atol=1e-4, rtol=0, err_msg=path.name)
        np.testing.assert_allclose(found.boxes, boxes, atol=1e-3, rtol=0, err_msg=path.name)
        near_threshold += int(np.sum(np.abs(scores - show) < 0.1))
    assert near_threshold >= 2 * len(paths["whole"]), near_threshold


@pytest.mark.parametrize("group", ["whole", "fractional"])
def test_exported_detector_shows_the_boxes_predict_shows(exported, group):
    detector, model, paths = exported
    result = model.predict_paths(paths[group])
    show = float(model.metadata()["show_threshold"])
    # Where the letterboxed short side is rounded, the contract maps it back by
    # original / rounded size and the native detector by the exact scale: up to half an
    # input pixel apart (x, y; twice that for w, h).
    tolerance = 1e-3 if group == "whole" else 0.5 / SCALE + 1e-3
    shown_total = 0
    for native, found in zip(detector.predict(paths[group]), result.images, strict=True):
        kept = found.scores >= show
        assert found.labels[kept].tolist() == native.labels.tolist(), native.path
        np.testing.assert_allclose(found.scores[kept], native.scores, atol=1e-4, rtol=0)
        corners = found.boxes[kept]
        xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1)
        np.testing.assert_allclose(xywh, native.boxes, atol=2 * tolerance, rtol=0)
        shown_total += len(native.labels)
    assert shown_total >= len(paths[group])


def test_padding_rows_have_negative_labels_and_zero_scores(exported):
    detector, model, _ = exported
    outputs = model.run_batch(np.zeros((2, 3, SIZE, SIZE), np.float32))
    assert outputs["boxes"].shape == (2, MAX_CANDIDATES, 4)
    padding = outputs["labels"] < 0
    assert (outputs["scores"][padding] == 0).all() and (outputs["boxes"][padding] == 0).all()
    assert (outputs["scores"][~padding] > 0).all()
    metadata = model.metadata()
    assert metadata["input_size"] == str(SIZE)
    assert float(metadata["hint_threshold"]) == pytest.approx(detector.meta.stats.hint_threshold)


class _Keep(torch.nn.Module):
    def forward(self, boxes, labels, valid):
        return greedy_nms_keep(boxes, labels, valid, 3, NMS_IOU)


def _nms_session(k: int):
    import onnxruntime as ort

    buffer = io.BytesIO()
    example = (
        torch.zeros(1, k, 4),
        torch.zeros(1, k, dtype=torch.int64),
        torch.ones(1, k, dtype=torch.bool),
    )
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Keep(),
            example,
            buffer,
            input_names=["boxes", "labels", "valid"],
            output_names=["keep"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={n: {0: "n"} for n in ("boxes", "labels", "valid")},
        )
    return ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])


def test_onnx_nms_keeps_what_greedy_native_nms_keeps():
    # A chain (A suppresses B, B would suppress C, A does not: greedy keeps C), an overlap of
    # exactly 0.5 (kept: only more than 0.5 suppresses), equal scores (the earlier box wins)
    # and another label on top of the chain (never suppressed by it).
    chain = [[0, 0, 10, 10], [2, 0, 12, 10], [4.5, 0, 14.5, 10]]  # label 0
    half = [[30, 0, 40, 10], [30, 0, 40, 20]]  # IoU exactly 0.5, label 0
    tied = [[60, 0, 70, 10], [61, 0, 71, 10]]  # equal scores, label 0
    crafted = np.array([*chain, *half, *tied, [0, 0, 10, 10]], dtype=np.float32)
    crafted_labels = np.array([0, 0, 0, 0, 0, 0, 0, 1])
    crafted_scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.4, 0.3])
    rng = np.random.default_rng(0)
    k = 60
    cases = []
    for _ in range(20):
        centres = rng.uniform(0, 60, (k, 2))
        sides = rng.uniform(8, 20, (k, 2))
        boxes = np.concatenate([centres - sides / 2, centres + sides / 2], 1).astype(np.float32)
        scores = np.sort(np.round(rng.uniform(0, 1, k), 1))[::-1]  # sorted, many ties
        cases.append((boxes, rng.integers(0, 3, k), scores, rng.uniform(0, 1, k) < 0.9))
    padded = np.zeros((k, 4), np.float32)
    padded[: len(crafted)] = crafted
    cases.append(
        (
            padded,
            np.pad(crafted_labels, (0, k - len(crafted))),
            np.pad(crafted_scores, (0, k - len(crafted))),
            np.arange(k) < len(crafted),
        )
    )
    session = _nms_session(k)
    keep = session.run(
        None,
        {
            "boxes": np.stack([c[0] for c in cases]),
            "labels": np.stack([c[1] for c in cases]).astype(np.int64),
            "valid": np.stack([c[3] for c in cases]),
        },
    )[0]
    for row, (boxes, labels, scores, valid) in zip(keep, cases, strict=True):
        members = np.flatnonzero(valid)
        native = members[batched_nms(boxes[members], scores[members], labels[members], NMS_IOU)]
        assert sorted(np.flatnonzero(row).tolist()) == sorted(native.tolist())
    assert np.flatnonzero(keep[-1]).tolist() == [0, 2, 3, 4, 5, 7]


def test_image_extent_is_read_from_the_padding():
    images = torch.zeros(4, 3, 32, 32)
    images[0, :, :20, :] = 0.3  # landscape: 32 x 20
    images[1, 1, :, :11] = -0.2  # portrait: 11 x 32
    images[1, :, 5, 3] = 0.0  # a padding-grey pixel inside the image changes nothing
    images[2] = 0.1  # square
    # images[3]: all padding grey (a uniform 127 image): the whole input
    extent = image_extent(images).tolist()
    assert extent == [[32.0, 20.0], [11.0, 32.0], [32.0, 32.0], [32.0, 32.0]]

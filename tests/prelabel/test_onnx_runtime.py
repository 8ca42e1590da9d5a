"""ml.runtime.onnx_model: real ONNX graphs run under their contract, and contract violations."""

from __future__ import annotations

import numpy as np
import onnx_builders as ob
import pytest
from PIL import Image

from labelloop.ml.features import Cancelled
from labelloop.ml.runtime.onnx_model import (
    ClassificationResult,
    DetectionResult,
    ModelMismatch,
    OnnxModel,
)

CLASSES = ("red", "green", "blue")


def solid(colour, size=(60, 40)) -> np.ndarray:
    return np.asarray(Image.new("RGB", size, colour), dtype=np.uint8)


RED, GREEN, BLUE = solid((220, 40, 40)), solid((40, 200, 60)), solid((40, 60, 220))


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("layout", "probabilities"),
    [("NCHW", False), ("NCHW", True), ("NHWC", False), ("NHWC", True)],
)
def test_classifier_variants_agree(tmp_path, layout, probabilities):
    path = ob.classifier(tmp_path / "m.onnx", layout=layout, probabilities=probabilities)
    contract = ob.contract(
        "classification", CLASSES, size=(32, 32), layout=layout, outputs_probabilities=probabilities
    )
    model = OnnxModel(path, contract)
    model.check()
    result = model.predict_arrays([RED, GREEN, BLUE])
    assert isinstance(result, ClassificationResult)
    assert result.probabilities.argmax(axis=1).tolist() == [0, 1, 2]
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, atol=1e-6)
    # Whatever the output kind, the answer is softmax(channel means @ W).
    means = np.array([[220, 40, 40], [40, 200, 60], [40, 60, 220]]) / 255.0
    np.testing.assert_allclose(result.probabilities, softmax(means @ ob.COLOR_WEIGHTS), atol=1e-5)


def test_bgr_model_gets_its_channels_swapped(tmp_path):
    # A model trained on BGR input: its first input channel is blue.
    path = ob.classifier(tmp_path / "bgr.onnx", weights=ob.COLOR_WEIGHTS[::-1].copy())
    bgr = OnnxModel(path, ob.contract("classification", CLASSES, size=(32, 32), channels="BGR"))
    bgr_logits = ob.contract(
        "classification", CLASSES, size=(32, 32), channels="BGR", outputs_probabilities=False
    )
    assert OnnxModel(path, bgr_logits).predict_arrays([RED]).probabilities.argmax() == 0
    rgb = ob.contract("classification", CLASSES, size=(32, 32), outputs_probabilities=False)
    assert OnnxModel(path, rgb).predict_arrays([RED]).probabilities.argmax() == 2  # wrong order
    with pytest.raises(ModelMismatch, match="probabilities"):
        bgr.check()  # logits declared as probabilities


def test_mean_and_std_follow_the_contract(tmp_path):
    path = ob.classifier(tmp_path / "m.onnx")
    plain = ob.contract("classification", CLASSES, size=(32, 32), outputs_probabilities=False)
    # (x - 220) / 255 makes the red channel of a red image zero: red no longer wins.
    shifted = ob.contract(
        "classification",
        CLASSES,
        size=(32, 32),
        outputs_probabilities=False,
        mean=(220.0, 0.0, 0.0),
    )
    assert OnnxModel(path, plain).predict_arrays([RED]).probabilities.argmax() == 0
    assert OnnxModel(path, shifted).predict_arrays([RED]).probabilities.argmax() != 0


def _detector(tmp_path, size=(64, 64), **kw):
    boxes = np.array([[8, 8, 24, 24], [0, 0, size[0], size[1]]], dtype=np.float32)
    return ob.detector(
        tmp_path / "det.onnx",
        boxes,
        np.array([0, 1]),
        np.ones((3, 2), np.float32),
        size=size,
        **kw,
    )


@pytest.mark.parametrize(
    ("resize", "expected_first_box"),
    [
        # 200x100 image, 64x64 input. squash: x * 200/64, y * 100/64
        ("squash", [25.0, 12.5, 75.0, 37.5]),
        # letterbox: scale 0.32 -> 64x32 at y offset 16; y = (8 - 16) / 0.32 -> clipped to 0
        ("letterbox", [25.0, 0.0, 75.0, 25.0]),
        # letterbox in the corner: 64x32 at (0, 0); y = 8 / 0.32
        ("letterbox-top-left", [25.0, 25.0, 75.0, 75.0]),
        # centre crop: scale 0.64 -> 128x64, 32 px cut on the left; x = (8 + 32) / 0.64
        ("center-crop", [62.5, 12.5, 87.5, 37.5]),
    ],
)
def test_detection_boxes_come_back_in_original_pixels(tmp_path, resize, expected_first_box):
    contract = ob.contract("detection", ("a", "b"), size=(64, 64), resize=resize)
    model = OnnxModel(_detector(tmp_path), contract)
    model.check()
    result = model.predict_arrays([solid((100, 100, 100), size=(200, 100))])
    assert isinstance(result, DetectionResult)
    found = result.images[0]
    np.testing.assert_allclose(found.boxes[0], expected_first_box, atol=1e-4)
    assert found.labels.tolist() == [0, 1]
    # The whole-input box covers the visible image (padding and crop clipped away).
    assert found.boxes[1][0] >= 0 and found.boxes[1][2] <= 200 and found.boxes[1][3] <= 100


def test_boxes_map_to_the_displayed_image_of_rotated_and_draft_decoded_jpegs(tmp_path):
    contract = ob.contract("detection", ("a", "b"), size=(64, 64))
    model = OnnxModel(_detector(tmp_path), contract)
    # Stored 80x40 with EXIF orientation 6 (rotate 90): shown 40x80.
    rotated = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (80, 40), (90, 90, 90)).save(rotated, exif=exif.tobytes())
    # Large JPEG decoded at a reduced draft scale: boxes still in full-size pixels.
    large = tmp_path / "large.jpg"
    Image.new("RGB", (1024, 512), (90, 90, 90)).save(large)
    result = model.predict_paths([rotated, large])
    np.testing.assert_allclose(result.images[0].boxes[1], [0, 0, 40, 80], atol=1e-4)
    np.testing.assert_allclose(result.images[1].boxes[1], [0, 0, 1024, 512], atol=1e-4)
    np.testing.assert_allclose(result.images[1].boxes[0], [128, 64, 384, 192], atol=1e-4)


def test_fixed_batch_models_run_any_number_of_images(tmp_path):
    path = ob.classifier(tmp_path / "fixed.onnx", batch=1)
    model = OnnxModel(
        path, ob.contract("classification", CLASSES, size=(32, 32), outputs_probabilities=False)
    )
    model.check()
    assert model.predict_arrays([RED, GREEN, BLUE]).probabilities.argmax(axis=1).tolist() == [
        0,
        1,
        2,
    ]


def test_paths_report_undecodable_files_progress_and_cancel(tmp_path):
    path = ob.classifier(tmp_path / "m.onnx")
    contract = ob.contract("classification", CLASSES, size=(32, 32), outputs_probabilities=False)
    files = []
    for n, colour in enumerate([(220, 40, 40), (40, 200, 60)] * 3):
        files.append(tmp_path / f"{n}.png")
        Image.new("RGB", (30, 20), colour).save(files[-1])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    files.insert(2, broken)
    seen = []
    model = OnnxModel(path, contract, batch_size=3)
    result = model.predict_paths(files, progress=lambda done, total: seen.append((done, total)))
    assert list(result.failed) == [2] and "broken.jpg" in result.failed[2]
    assert np.isnan(result.probabilities[2]).all()
    assert result.probabilities[[0, 1, 3, 4]].argmax(axis=1).tolist() == [0, 1, 0, 1]
    assert seen == [(3, 7), (6, 7), (7, 7)]
    with pytest.raises(Cancelled):
        model.predict_paths(files, should_cancel=lambda: True)


@pytest.mark.parametrize(
    ("build", "contract_fields", "message"),
    [
        ("classifier", {"class_names": ("a", "b")}, r"contract's 2 classes need \[2, 2\]"),
        ("classifier", {"input_name": "pixels"}, "input is 'images'"),
        ("classifier", {"output_names": {"scores": "probs"}}, "no output 'probs'"),
        ("classifier", {"size": (64, 64)}, "needs 64 on axis 2"),
        ("classifier", {"layout": "NHWC"}, "needs 32 on axis 1"),
        ("classifier", {"outputs_probabilities": True}, "rows sum to"),
        ("detector", {"class_names": ("a",)}, "not a class index below 1"),
    ],
)
def test_models_that_break_their_contract_are_refused(tmp_path, build, contract_fields, message):
    if build == "classifier":
        path = ob.classifier(tmp_path / "m.onnx")
        fields = {"class_names": CLASSES, "size": (32, 32), "outputs_probabilities": False}
        task = "classification"
    else:
        path = _detector(tmp_path)
        fields = {"class_names": ("a", "b"), "size": (64, 64)}
        task = "detection"
    fields.update(contract_fields)
    names = fields.pop("class_names")
    with pytest.raises(ModelMismatch, match=message):
        OnnxModel(path, ob.contract(task, names, **fields)).check()


def test_detection_output_of_the_wrong_shape_is_refused(tmp_path):
    # A classifier registered as a detector: no boxes output, and scores of the wrong rank.
    path = ob.classifier(tmp_path / "m.onnx")
    contract = ob.contract(
        "detection",
        CLASSES,
        size=(32, 32),
        output_names={"boxes": "scores", "labels": "scores"},
    )
    with pytest.raises(ModelMismatch, match=r"boxes has shape \[2, 3\]"):
        OnnxModel(path, contract).check()


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_text("this is a text file, not a model")
    contract = ob.contract("classification", CLASSES, size=(32, 32))
    with pytest.raises(ModelMismatch, match="not a loadable ONNX model"):
        OnnxModel(fake, contract).check()
    with pytest.raises(ModelMismatch, match="file not found"):
        OnnxModel(tmp_path / "missing.onnx", contract).check()


def test_a_model_answering_nan_is_refused_and_its_nan_rows_fail_their_image(tmp_path):
    # log(logits - 5): finite only for light images (every channel mean above 5/8), NaN for
    # the mid-grey neutral input of the check and for darker images.
    path = ob.classifier(tmp_path / "m.onnx", log_shift=5.0)
    contract = ob.contract("classification", CLASSES, size=(32, 32), outputs_probabilities=False)
    with pytest.raises(ModelMismatch, match="NaN or infinite class scores"):
        OnnxModel(path, contract).check()
    pink, mint = solid((250, 200, 200)), solid((200, 250, 200))
    result = OnnxModel(path, contract).predict_arrays([pink, RED, mint])
    assert list(result.failed) == [1] and "NaN" in result.failed[1]
    assert np.isnan(result.probabilities[1]).all()
    assert result.probabilities[[0, 2]].argmax(axis=1).tolist() == [0, 1]


def test_detection_scores_outside_zero_to_one_are_refused(tmp_path):
    boxes = np.array([[8, 8, 24, 24]], dtype=np.float32)
    path = ob.detector(
        tmp_path / "logits.onnx",
        boxes,
        np.array([0]),
        np.zeros((3, 1), np.float32),
        score_bias=np.array([3.0], np.float32),
        sigmoid=False,
    )
    contract = ob.contract("detection", ("a",), size=(64, 64))
    with pytest.raises(ModelMismatch, match=r"scores from 3 to 3.*between 0 and 1"):
        OnnxModel(path, contract).check()
    result = OnnxModel(path, contract).predict_arrays([RED])
    assert "between 0 and 1" in result.failed[0]
    assert len(result.images[0].boxes) == 0

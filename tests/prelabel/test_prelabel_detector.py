"""A detector trained here: pre-label with the native model (its own hard-example typing),
``model export`` -> ``model register`` -> pre-label again with the ONNX file; both find the
objects, the exported one brings its cross-validated show threshold along, and it proposes the
native model's boxes (labels identical, scores within 1e-4). Hard flags may differ: an ONNX
model is judged by ``ml.runtime.confidence``, the native one types its own images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prelabel_support import predictions, prelabel
from typer.testing import CliRunner

from labelloop.cli import app as cli_app
from labelloop.config import Settings
from labelloop.domain import HardType, JobState
from labelloop.jobs.runner import run_job
from labelloop.ml.detect import iou_matrix
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext
from seeding import seed_detection

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


@pytest.fixture
def env(tmp_path, tmp_path_factory, database_url, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "shared-backbone-cache"
    settings = Settings(tmp_path / "home", database_url, cache_override=cache)
    monkeypatch.setenv("LABELLOOP_HOME", str(settings.home))
    monkeypatch.setenv("LABELLOOP_DATABASE_URL", database_url)
    monkeypatch.setenv("LABELLOOP_CACHE_DIR", str(cache))
    ctx = AppContext(settings)
    yield ctx
    ctx.close()


def cli_json(*args):
    result = CliRunner().invoke(cli_app, [*map(str, args), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def objects_found(found: dict, truth: dict) -> tuple[int, int]:
    hits = total = 0
    for image_id, true_boxes in truth.items():
        boxes = found[image_id].boxes
        for label, x, y, w, h in true_boxes:
            total += 1
            same = [b for b in boxes if b.label == label]
            if same:
                ious = iou_matrix(
                    np.array([[x, y, x + w, y + h]]),
                    np.array([[b.x, b.y, b.x + b.w, b.y + b.h] for b in same]),
                )
                hits += bool(ious.max() >= 0.5)
    return hits, total


def test_trained_detector_prelabels_natively_and_exported(env, tmp_path):
    try:
        from labelloop.services.auto_label_detection import run_auto_label  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"the detection auto-label pipeline is not available ({exc})")
    seed_detection(env, tmp_path, "train", labeled=10, unlabeled=2)
    trained = run_job(env, job_service.start_job(env, "train", "auto-label").id)
    assert trained.state is JobState.SUCCEEDED, trained.error
    ref = f"{trained.result['model']['name']}:{trained.result['model']['version']}"

    truth = seed_detection(env, tmp_path / "a", "native", labeled=0, unlabeled=6, seed=11)
    same = seed_detection(env, tmp_path / "b", "exported", labeled=0, unlabeled=6, seed=11)
    native_job = prelabel(env, "native", ref)
    assert native_job.state is JobState.SUCCEEDED, native_job.error
    assert native_job.result["hard_rule"]["by"].startswith("the trained detector")
    native = predictions(env, "native")
    assert {p.hard_type for p in native.values()} <= set(HardType)
    hits, total = objects_found(native, truth)
    assert hits >= 0.6 * total, f"native: {hits} of {total}"

    out = tmp_path / "export"
    cli_json("model", "export", ref, out)
    contract = json.loads((out / "contract.json").read_text())
    assert contract["resize"] == "letterbox-top-left" and contract["pad_value"] == 127.0
    registered = cli_json(
        "model", "register", "detector-onnx", "--onnx", out / "model.onnx",
        "--contract", out / "contract.json",
    )  # fmt: skip
    assert 0.0 < registered["config"]["show_threshold"] < 1.0
    onnx_job = prelabel(env, "exported", "detector-onnx")
    assert onnx_job.state is JobState.SUCCEEDED, onnx_job.error
    assert onnx_job.result["hard_rule"]["show_threshold"] == registered["config"]["show_threshold"]
    exported = predictions(env, "exported")
    hits, total = objects_found(exported, same)  # the same scenes under other image ids
    assert hits >= 0.6 * total, f"exported: {hits} of {total}"

    # The same scenes were added in the same order: pair them by image id order.
    pairs = list(zip(sorted(native.items()), sorted(exported.items()), strict=True))
    proposed = 0
    for (_, mine), (_, theirs) in pairs:
        assert [b.label for b in theirs.boxes] == [b.label for b in mine.boxes]
        np.testing.assert_allclose(
            [b.score for b in theirs.boxes], [b.score for b in mine.boxes], atol=1e-4, rtol=0
        )
        np.testing.assert_allclose(
            [(b.x, b.y, b.w, b.h) for b in theirs.boxes],
            [(b.x, b.y, b.w, b.h) for b in mine.boxes],
            atol=0.01,
        )
        proposed += len(mine.boxes)
    assert proposed >= 6

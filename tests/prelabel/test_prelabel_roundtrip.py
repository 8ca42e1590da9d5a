"""Round trip of a model trained here: active learning -> ``model export`` -> ``model register``
the ONNX file -> pre-label a second dataset -> the same predictions as the native model
(labels identical, scores within 1e-4)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from prelabel_support import add_files, predictions, prelabel, textured_images
from typer.testing import CliRunner

from labelloop.cli import app as cli_app
from labelloop.config import Settings
from labelloop.domain import JobState
from labelloop.jobs.runner import run_job
from labelloop.services import datasets
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext

pytestmark = pytest.mark.slow

TINTS = {"red": (200, 70, 60), "green": (70, 190, 80), "blue": (60, 80, 200)}


def auto_label_pipeline_problem() -> str | None:
    """Why the classification active-learning pipeline cannot run yet (None when it can)."""
    try:
        from labelloop.services.auto_label_classification import run_auto_label  # noqa: F401
    except ImportError as exc:
        return f"the classification auto-label pipeline is not finished yet ({exc})"
    return None


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


def test_active_learning_model_exported_and_registered_predicts_like_the_native_one(env, tmp_path):
    problem = auto_label_pipeline_problem()
    if problem:
        pytest.skip(problem)
    names = list(TINTS)
    datasets.create_dataset(env, "train", "classification", names)
    labels = [c for c in names for _ in range(5)] + [None] * 6
    tints = [TINTS[c or names[i % 3]] for i, c in enumerate(labels)]
    add_files(env, "train", textured_images(tmp_path / "train", tints), labels)
    trained = run_job(env, job_service.start_job(env, "train", "auto-label").id)
    assert trained.state is JobState.SUCCEEDED, trained.error
    native_ref = trained.result["model"]["name"] + ":" + str(trained.result["model"]["version"])

    out = tmp_path / "exported"
    exported = cli_json("model", "export", native_ref, out)
    assert exported["model"] == native_ref
    registered = cli_json(
        "model", "register", "brought-back", "--onnx", out / "model.onnx",
        "--contract", out / "contract.json",
    )  # fmt: skip
    assert registered["source"] == "onnx" and registered["class_names"] == names
    # The confidence floor the job flagged hard below travels in the file's metadata.
    native_model = cli_json("model", "show", native_ref)
    floor = native_model["config"]["min_top_probability"]
    assert 0.5 <= floor <= 1.0
    assert registered["config"]["min_top_probability"] == pytest.approx(floor, abs=1e-6)

    # The second dataset blends each tint with the next one, 30-56% of the way, so the model is
    # unsure of many images: saturated scores of 1.0 would make "within 1e-4" prove nothing.
    blends = [0.3, 0.42, 0.5, 0.56]
    tints = []
    for i in range(12):
        own, other = np.array(TINTS[names[i % 3]]), np.array(TINTS[names[(i + 1) % 3]])
        share = blends[i // 3]
        tints.append(tuple(int(v) for v in (1 - share) * own + share * other))
    files = textured_images(tmp_path / "second", tints, seed=7)
    for dataset in ("native", "exported"):
        datasets.create_dataset(env, dataset, "classification", names)
        add_files(env, dataset, files, [None] * len(files))
    native_job = prelabel(env, "native", native_ref)
    onnx_job = prelabel(env, "exported", "brought-back")
    assert native_job.state is JobState.SUCCEEDED, native_job.error
    assert onnx_job.state is JobState.SUCCEEDED, onnx_job.error
    native = sorted(predictions(env, "native").values(), key=lambda p: p.image_id)
    brought = sorted(predictions(env, "exported").values(), key=lambda p: p.image_id)
    assert len(native) == len(brought) == 12
    assert [p.label for p in native] == [p.label for p in brought]
    scores = [p.score for p in native]
    # Not saturated: some proposals are unsure (0.72 and 0.995 here), so equality means something.
    assert min(scores) < 0.9 and max(scores) - min(scores) > 0.1, scores
    np.testing.assert_allclose(scores, [p.score for p in brought], rtol=0, atol=1e-4)
    assert [p.hard for p in native] == [p.hard for p in brought]
    # The job's floor: below it a proposal is hard; a floor of 1 (this tiny job kept no
    # proposal out of the checks) makes every one hard, as the job did.
    assert all(p.hard for p in native if p.score < floor or floor >= 1.0)
    assert all(p.score >= floor for p in native if not p.hard)
    assert onnx_job.result["hard_rule"]["min_top_probability"] == pytest.approx(floor, abs=1e-6)

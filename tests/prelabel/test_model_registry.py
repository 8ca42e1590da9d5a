"""The model registry through the CLI: register (ONNX with a contract, remote), list, show,
export, delete — and what it refuses."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import onnx_builders as ob
import pytest
from ls_backend import FakeBackend
from prelabel_support import GREEN, RED, colour_dataset, predictions
from typer.testing import CliRunner

from labelloop.cli import app as cli_app
from labelloop.domain import JobState
from labelloop.jobs.runner import run_job
from labelloop.services import jobs as job_service
from labelloop.services.context import AppContext

runner = CliRunner()


def run(*args, ok: bool = True):
    result = runner.invoke(cli_app, [str(a) for a in args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def run_json(*args):
    return json.loads(run(*args, "--json").stdout)


def error_of(*args) -> str:
    result = run(*args, "--json", ok=False)
    assert result.exit_code == 1
    return json.loads(result.stderr)["error"]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def colour_model(tmp_path):
    path = ob.classifier(tmp_path / "upload" / "colours.onnx")
    contract = ob.contract("classification", ["red", "green", "blue"], size=(32, 32))
    contract_path = tmp_path / "upload" / "contract.json"
    data = contract.to_dict()
    data["outputs_probabilities"] = False
    contract_path.write_text(json.dumps(data))
    return path, contract_path


def test_register_with_a_contract_file_copies_the_model_and_lists_it(
    cli_env, tmp_path, colour_model
):
    path, contract = colour_model
    first = run_json("model", "register", "colours", "--onnx", path, "--contract", contract)
    assert first["ref"] == "colours:1" and first["source"] == "onnx"
    assert first["class_names"] == ["red", "green", "blue"]
    folder = cli_env.model_dir / "colours-v1"
    assert first["path"] == str(folder)
    assert sha(folder / "model.onnx") == sha(path)
    assert json.loads((folder / "contract.json").read_text())["outputs_probabilities"] is False
    path.unlink()  # the registry does not depend on the uploaded file
    second = run_json(
        "model", "register", "colours", "--onnx", folder / "model.onnx", "--contract", contract
    )
    assert second["version"] == 2
    listed = run_json("model", "list")
    assert [m["ref"] for m in listed] == ["colours:1", "colours:2"]
    assert all(m["created_at"] for m in listed)
    assert run_json("model", "show", "colours")["ref"] == "colours:2"
    assert run_json("model", "show", "colours:1")["id"] == first["id"]
    assert run_json("model", "list", "--task-type", "detection") == []
    assert "colours:2" in run("model", "list").stdout
    assert "logits" in run("model", "show", "colours:1").stdout


def test_register_with_flags_instead_of_a_contract_file(cli_env, tmp_path):
    path = ob.classifier(tmp_path / "nhwc.onnx", layout="NHWC", probabilities=True)
    model = run_json(
        "model", "register", "nhwc", "--onnx", path, "--task-type", "classification",
        "--classes", "red,green,blue", "--size", "32", "--mean", "0", "--std", "255",
        "--layout", "nhwc", "--probabilities",
    )  # fmt: skip
    contract = model["config"]["contract"]
    assert contract["layout"] == "NHWC" and contract["size"] == [32, 32]
    assert contract["std"] == [255.0, 255.0, 255.0]


def test_a_missing_size_is_suggested_from_the_model_input(cli_env, tmp_path):
    square = ob.classifier(tmp_path / "square.onnx")  # 32x32
    wide = ob.classifier(tmp_path / "wide.onnx", size=(48, 32), layout="NHWC")
    flags = ["--task-type", "classification", "--classes", "red,green,blue", "--logits"]
    message = error_of("model", "register", "sq", "--onnx", square, *flags)
    assert "takes 32x32 images" in message and "defaults to 224x224: add --size 32" in message
    message = error_of("model", "register", "w", "--onnx", wide, *flags, "--layout", "nhwc")
    assert "add --size 48x32" in message
    assert run_json("model", "list") == []
    model = run_json("model", "register", "sq", "--onnx", square, *flags, "--size", "32")
    assert model["config"]["contract"]["size"] == [32, 32]


def test_flags_that_do_not_apply_to_the_source_are_refused(cli_env, tmp_path, colour_model):
    path, contract = colour_model
    with FakeBackend() as backend:
        message = error_of(
            "model", "register", "r", "--remote", backend.url, "--task-type", "classification",
            "--classes", "a,b", "--size", "32", "--mean", "0", "--layout", "NHWC", "--logits",
        )  # fmt: skip
    assert message.startswith("--size, --mean, --layout, --probabilities/--logits describe")
    assert "do not apply to --remote" in message
    message = error_of(
        "model", "register", "o", "--onnx", path, "--contract", contract,
        "--timeout", "5", "--image-transport", "data-uri",
    )  # fmt: skip
    assert (
        message
        == "--timeout, --image-transport apply to remote models (--remote) only, not to --onnx"
    )
    assert "--retries applies" in error_of(
        "model", "register", "o", "--onnx", path, "--contract", contract, "--retries", "1"
    )
    assert run_json("model", "list") == []


def test_smart_label_refuses_options_of_the_other_job_type(cli_env):
    result = run("smart-label", "pets", "--type", "prelabel", "--model", "m", "--algorithm",
                 "accurate", "--json", ok=False)  # fmt: skip
    assert result.exit_code == 1
    assert "--algorithm chooses how active learning trains" in json.loads(result.stderr)["error"]
    result = run("smart-label", "pets", "--model", "m", "--map", "a=b", "--json", ok=False)
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"].startswith("--model, --map apply to pre-labeling")


def test_show_fits_the_task_and_created_at_is_utc_everywhere(cli_env, tmp_path, colour_model):
    path, contract = colour_model
    registered = run_json("model", "register", "colours", "--onnx", path, "--contract", contract)
    created = datetime.fromisoformat(registered["created_at"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - created) < timedelta(minutes=5)
    # Read back from the database (naive on SQLite) it is the same UTC time, with its offset.
    assert run_json("model", "show", "colours")["created_at"] == registered["created_at"]
    assert run_json("model", "list")[0]["created_at"] == registered["created_at"]
    assert "outputs scores (logits)" in run("model", "show", "colours").stdout

    boxes = np.array([[8, 8, 24, 24]])
    detector = ob.detector(tmp_path / "det.onnx", boxes, np.array([0]), np.zeros((3, 1), "f"))
    det_contract = tmp_path / "det.json"
    det_contract.write_text(json.dumps(ob.contract("detection", ["a"], size=(64, 64)).to_dict()))
    run("model", "register", "boxer", "--onnx", detector, "--contract", det_contract)
    shown = run("model", "show", "boxer").stdout
    assert "outputs boxes, scores, labels" in shown
    assert "probabilities" not in shown and "logits" not in shown


def test_models_that_do_not_fit_are_refused_with_the_reason(cli_env, tmp_path, colour_model):
    path, contract = colour_model
    text = tmp_path / "notes.onnx"
    text.write_text("hello")
    assert "not a loadable ONNX model" in error_of(
        "model", "register", "bad", "--onnx", text, "--contract", contract
    )
    assert "contract's 2 classes" in error_of(
        "model", "register", "bad", "--onnx", path, "--contract", contract, "--classes", "a,b"
    )
    assert "rows sum to" in error_of(
        "model", "register", "bad", "--onnx", path, "--contract", contract, "--probabilities"
    )
    assert "needs 64 on axis 2" in error_of(
        "model", "register", "bad", "--onnx", path, "--contract", contract, "--size", "64"
    )
    assert "at least --task-type and --classes" in error_of(
        "model", "register", "bad", "--onnx", path
    )
    assert "channels must be one of" in error_of(
        "model", "register", "bad", "--onnx", path, "--contract", contract, "--channels", "RGBA"
    )
    assert "model name" in error_of(
        "model", "register", "bad:name", "--onnx", path, "--contract", contract
    )
    assert run_json("model", "list") == []
    assert not any(cli_env.model_dir.iterdir()) if cli_env.model_dir.exists() else True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("class_names", "red", "'class_names' must be a list"),
        ("outputs_probabilities", "false", "'outputs_probabilities' must be true or false"),
        ("size", [32, "32"], "'size' must be a list of int"),
        ("pad_value", True, "'pad_value' must be a number"),
        ("output_names", ["scores"], "output_names must be an object"),
    ],
)
def test_contract_fields_of_the_wrong_type_are_refused(
    cli_env, colour_model, field, value, message
):
    # Read loosely, "red" would be three classes r, e, d and "false" would mean true.
    path, contract = colour_model
    data = json.loads(contract.read_text())
    data[field] = value
    contract.write_text(json.dumps(data))
    assert message in error_of("model", "register", "bad", "--onnx", path, "--contract", contract)
    assert run_json("model", "list") == []


def test_export_writes_model_and_contract_that_register_again(cli_env, tmp_path, colour_model):
    path, contract = colour_model
    run("model", "register", "colours", "--onnx", path, "--contract", contract)
    out = tmp_path / "exported"
    exported = run_json("model", "export", "colours:1", out)
    assert exported["model"] == "colours:1"
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "model.onnx").stat().st_mode & 0o777 == 0o666 & ~umask  # not owner-only
    assert sha(out / "model.onnx") == sha(path)
    assert "already holds" in error_of("model", "export", "colours", out)
    assert "is a file" in error_of("model", "export", "colours", out / "model.onnx")
    (tmp_path / "readonly").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        assert "cannot create the export folder" in error_of(
            "model", "export", "colours", tmp_path / "readonly" / "sub"
        )
    run("model", "export", "colours", out, "--force")
    again = run_json(
        "model", "register", "brought-back", "--onnx", out / "model.onnx",
        "--contract", out / "contract.json",
    )  # fmt: skip
    assert again["config"]["contract"] == run_json("model", "show", "colours")["config"]["contract"]


def test_remote_register_checks_health_and_needs_classes(cli_env):
    with FakeBackend(setup_classes=["red", "green", "blue"]) as backend:
        model = run_json(
            "model", "register", "remote-colours", "--remote", backend.url,
            "--task-type", "classification", "--image-transport", "data-uri",
        )  # fmt: skip
        assert model["source"] == "remote" and model["class_names"] == ["red", "green", "blue"]
        assert model["config"]["url"] == backend.url
        assert model["config"]["image_transport"] == "data-uri"
        assert "endpoint" in run("model", "show", "remote-colours").stdout
        assert "has no file to export" in error_of("model", "export", "remote-colours", "out")
    with FakeBackend() as backend:
        assert "--classes" in error_of(
            "model", "register", "r", "--remote", backend.url, "--task-type", "detection"
        )
        named = run_json(
            "model", "register", "r", "--remote", backend.url, "--task-type", "detection",
            "--classes", "a, b",
        )  # fmt: skip
        assert named["class_names"] == ["a", "b"]
        url = backend.url
    assert "is the model server running" in error_of(
        "model", "register", "r2", "--remote", url, "--task-type", "detection",
        "--classes", "a", "--retries", "0",
    )  # fmt: skip
    assert "must be http(s)" in error_of(
        "model", "register", "r3", "--remote", "ftp://x", "--task-type", "detection"
    )


def test_delete_is_refused_while_a_prelabel_job_uses_the_model(
    cli_env, tmp_path, colour_model, app
):
    path, contract = colour_model
    run("model", "register", "colours", "--onnx", path, "--contract", contract)
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    job = job_service.start_job(app, "pets", "pre-label", {"model": "colours"})
    assert job.params["model"] == "colours:1"  # pinned to the version at start
    message = error_of("model", "delete", "colours:1")
    assert f"used by job {job.id} (queued)" in message
    job_service.cancel_job(app, job.id)
    deleted = run_json("model", "delete", "colours:1")
    assert deleted["ref"] == "colours:1"
    assert not (cli_env.model_dir / "colours-v1").exists()
    assert run_json("model", "list") == []
    assert "does not exist" in error_of("model", "delete", "colours")


def test_delete_is_refused_while_a_prelabel_job_runs_with_the_model(cli_env, tmp_path, app):
    colour_dataset(app, tmp_path, "pets", "classification", ["red", "green"], [RED, GREEN])
    with FakeBackend(mode="slow", delay=30.0) as backend:
        run(
            "model", "register", "slowpoke", "--remote", backend.url,
            "--task-type", "classification", "--classes", "red,green",
        )  # fmt: skip
        job = job_service.start_job(app, "pets", "pre-label", {"model": "slowpoke"})
        worker = threading.Thread(target=run_job, args=(app, job.id))
        worker.start()
        try:
            deadline = time.monotonic() + 20
            while not backend.requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert job_service.get_job(app, job.id).state is JobState.RUNNING
            message = error_of("model", "delete", "slowpoke:1")
            assert f"used by job {job.id} (running)" in message
            assert run_json("model", "show", "slowpoke:1")["ref"] == "slowpoke:1"
        finally:
            job_service.cancel_job(app, job.id)
            worker.join(timeout=15)
    assert job_service.get_job(app, job.id).state is JobState.CANCELLED
    assert run_json("model", "delete", "slowpoke:1")["ref"] == "slowpoke:1"


def test_smart_label_cli_prelabels_in_a_background_worker(cli_env, tmp_path, colour_model):
    """The whole path a user takes: register, smart-label --type prelabel --wait (a real
    worker process), then the predictions are there."""
    path, contract = colour_model
    run("model", "register", "colours", "--onnx", path, "--contract", contract)
    ctx = AppContext(cli_env)
    try:
        colour_dataset(ctx, tmp_path, "pets", "classification", ["Red", "grass"], [RED, GREEN])
    finally:
        ctx.close()
    env = {**os.environ, "LABELLOOP_HOME": str(cli_env.home)}
    env["LABELLOOP_DATABASE_URL"] = cli_env.database_url
    started = time.monotonic()
    exe = str(Path(sys.executable).with_name("labelloop"))
    done = subprocess.run(
        [exe, "smart-label", "pets", "--type", "prelabel",
         "--model", "colours", "--map", "green=grass", "--wait", "--json"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["state"] == "succeeded", job
    assert job["result"]["mapping"] == {"red": "Red", "green": "grass"}
    assert job["result"]["unmapped_model_classes"] == ["blue"]
    assert time.monotonic() - started < 300
    # A finished job reads complete (its last stage counted the published images), not 0/0.
    shown = run_json("job", "show", job["id"])
    assert (shown["stage"], shown["done"], shown["total"]) == ("done", 2, 2)
    assert "succeeded: done 2/2" in run("job", "show", job["id"]).stdout
    ctx = AppContext(cli_env)
    try:
        found = predictions(ctx, "pets")
    finally:
        ctx.close()
    assert sorted(p.label for p in found.values()) == ["Red", "grass"]
    assert all(p.model_version == "colours:1" for p in found.values())
    assert np.isclose(max(p.score for p in found.values()), 0.993, atol=0.01)


def test_a_deleted_version_number_is_never_given_again(cli_env, colour_model):
    # Old predictions, exports and job results say "colours:2": it must keep naming one model.
    path, contract = colour_model
    for _ in range(2):
        run("model", "register", "colours", "--onnx", path, "--contract", contract)
    run("model", "delete", "colours:2")
    again = run_json("model", "register", "colours", "--onnx", path, "--contract", contract)
    assert again["ref"] == "colours:3"
    assert [m["ref"] for m in run_json("model", "list")] == ["colours:1", "colours:3"]


def test_a_classifiers_confidence_floor_comes_from_its_metadata(cli_env, colour_model):
    import onnx

    path, contract = colour_model
    graph = onnx.load(str(path))
    entry = graph.metadata_props.add()
    entry.key, entry.value = "min_top_probability", "0.930000"
    onnx.save(graph, str(path))
    model = run_json("model", "register", "colours", "--onnx", path, "--contract", contract)
    assert model["config"]["min_top_probability"] == 0.93
    entry.value = "not a number"
    onnx.save(graph, str(path))
    plain = run_json("model", "register", "colours", "--onnx", path, "--contract", contract)
    assert "min_top_probability" not in plain["config"]

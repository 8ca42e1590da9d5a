"""The model registry over HTTP: register an ONNX upload or a remote endpoint, export, delete —
and what each refuses. Real ONNX files (tests/prelabel/onnx_builders.py), the real loopback
Label Studio ML backend (tests/prelabel/ls_backend.py), a real database."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import pytest

from labelloop.services import models as model_service
from seeding import seed_classification

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prelabel"))
import onnx_builders as ob
from ls_backend import FakeBackend

URL = "/api/v1/models"
CLASSES = ["red", "green", "blue"]


@pytest.fixture
def colour_model(tmp_path) -> tuple[Path, str]:
    """A real 3-class ONNX classifier (32x32 input, logits) and its contract as JSON text."""
    path = ob.classifier(tmp_path / "upload" / "colours.onnx")
    data = ob.contract("classification", CLASSES, size=(32, 32)).to_dict()
    data["outputs_probabilities"] = False
    return path, json.dumps(data)


def upload(client, name: str, onnx: bytes | Path, contract: str, filename: str = "colours.onnx"):
    content = onnx.read_bytes() if isinstance(onnx, Path) else onnx
    return client.post(
        URL,
        data={"name": name, "contract": contract},
        files={"file": (filename, content, "application/octet-stream")},
    )


def stored_entries(settings) -> list[str]:
    """What the model directory holds, the API's work folder included (it must stay empty)."""
    root = settings.model_dir
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_register_onnx_upload_stores_the_file_and_lists_it(client, settings, colour_model):
    path, contract = colour_model
    response = upload(client, "colours", path, contract)
    assert response.status_code == 201, response.text
    model = response.json()
    assert model["ref"] == "colours:1" and model["source"] == "onnx"
    assert model["task_type"] == "classification" and model["class_names"] == CLASSES
    assert [m["ref"] for m in client.get(URL).json()] == ["colours:1"]
    assert client.get(f"{URL}/colours:1").json()["id"] == model["id"]

    # The upload moved into the registry's folder, byte for byte; nothing is left behind.
    assert stored_entries(settings) == [
        ".work",
        "colours-v1",
        "colours-v1/contract.json",
        "colours-v1/model.onnx",
    ]
    assert (settings.model_dir / "colours-v1" / "model.onnx").read_bytes() == path.read_bytes()
    shown = model_service.model_view(model_service.get_model(client.app.state.context, "colours"))
    assert shown["config"]["uploaded_file"] == "colours.onnx"
    assert shown["config"]["sha256"] == sha(path.read_bytes())

    # The contract may come as a file part too (curl -F contract=@contract.json).
    again = client.post(
        URL,
        data={"name": "colours"},
        files={
            "file": ("colours.onnx", path.read_bytes()),
            "contract": ("contract.json", contract.encode(), "application/json"),
        },
    )
    assert again.status_code == 201, again.text
    assert again.json()["ref"] == "colours:2"


def test_a_file_that_is_not_onnx_is_refused_and_nothing_is_stored(client, settings, colour_model):
    _, contract = colour_model
    response = upload(client, "broken", b"this is not a model\n" * 50, contract, "notes.onnx")
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_input"
    assert body["message"].startswith("notes.onnx does not fit its contract:")
    assert client.get(URL).json() == []
    assert stored_entries(settings) == [".work"]


def test_a_model_that_breaks_its_contract_is_refused_with_the_reason(
    client, settings, colour_model
):
    path, contract = colour_model
    wrong_classes = json.loads(contract)
    wrong_classes["class_names"] = ["red", "green", "blue", "grey"]
    response = upload(client, "colours", path, json.dumps(wrong_classes))
    assert response.status_code == 422
    assert "does not fit its contract" in response.json()["message"]
    assert "4" in response.json()["message"]  # the class count it was promised

    wrong_size = json.loads(contract)
    wrong_size["size"] = [64, 64]
    response = upload(client, "colours", path, json.dumps(wrong_size))
    assert response.status_code == 422
    assert "does not fit its contract" in response.json()["message"]

    assert client.get(URL).json() == []
    assert stored_entries(settings) == [".work"]


def test_the_form_and_the_contract_are_checked(client, settings, colour_model):
    path, contract = colour_model
    not_json = upload(client, "colours", path, "{task_type: classification")
    assert not_json.status_code == 422
    assert not_json.json()["message"].startswith("the contract is not valid JSON")
    bad_field = upload(client, "colours", path, json.dumps({**json.loads(contract), "size": "x"}))
    assert bad_field.status_code == 422
    assert "contract field 'size'" in bad_field.json()["message"]
    bad_name = upload(client, "no spaces please", path, contract)
    assert bad_name.status_code == 422 and "model name" in bad_name.json()["message"]

    no_file = client.post(URL, files={"name": (None, "colours"), "contract": (None, contract)})
    assert no_file.status_code == 422
    assert no_file.json()["message"].startswith("the form lacks file")
    extra = client.post(
        URL,
        data={"name": "colours", "contract": contract, "labels": "a"},
        files={"file": ("m.onnx", path.read_bytes())},
    )
    assert extra.status_code == 422 and "unknown form field 'labels'" in extra.json()["message"]
    for not_multipart in (
        client.post(URL, json={"name": "colours", "contract": contract}),
        client.post(URL, data={"name": "colours", "contract": contract}),
    ):
        assert not_multipart.status_code == 422
        assert "multipart/form-data" in not_multipart.json()["message"]
    assert client.get(URL).json() == []
    assert stored_entries(settings) == [".work"]


def test_uploads_over_the_cap_are_refused_as_too_large(client, settings, colour_model, monkeypatch):
    path, contract = colour_model
    size = path.stat().st_size
    monkeypatch.setattr(model_service, "MAX_UPLOAD_BYTES", size - 1)
    # Counted while streaming (the request is within the declared-length allowance)...
    streamed = upload(client, "colours", path, contract)
    assert streamed.status_code == 413
    assert streamed.json()["error"] == "too_large"
    assert "larger than" in streamed.json()["message"]
    # ... or refused from Content-Length alone, before the body is read.
    declared = upload(client, "colours", b"\0" * (3 * 1024 * 1024 + size), contract)
    assert declared.status_code == 413 and declared.json()["error"] == "too_large"
    assert stored_entries(settings) == [".work"]

    monkeypatch.setattr(model_service, "MAX_UPLOAD_BYTES", size)
    assert upload(client, "colours", path, contract).status_code == 201


def test_register_remote_checks_health_and_takes_classes_from_setup(client):
    with FakeBackend(setup_classes=CLASSES) as backend:
        response = client.post(
            f"{URL}/remote",
            json={
                "name": "remote-colours",
                "url": backend.url,
                "task_type": "classification",
                "timeout_s": 5,
                "retries": 1,
                "batch_size": 4,
                "image_transport": "data-uri",
            },
        )
        assert response.status_code == 201, response.text
        model = response.json()
        assert model["source"] == "remote" and model["class_names"] == CLASSES
        config = model_service.get_model(client.app.state.context, "remote-colours").config
        assert config["url"] == backend.url and config["image_transport"] == "data-uri"
        assert (config["timeout_s"], config["retries"], config["batch_size"]) == (5, 1, 4)

    with FakeBackend() as backend:  # no /setup: the classes must be given
        body = {"name": "boxes", "url": backend.url, "task_type": "detection"}
        no_classes = client.post(f"{URL}/remote", json=body)
        assert no_classes.status_code == 422 and "classes" in no_classes.json()["message"]
        named = client.post(f"{URL}/remote", json={**body, "class_names": ["car", "bike"]})
        assert named.status_code == 201 and named.json()["class_names"] == ["car", "bike"]


def test_register_remote_refuses_an_endpoint_that_is_down_or_bad_settings(client):
    with FakeBackend() as backend:
        url = backend.url  # the server stops when the block ends: nothing listens there now
    body = {"name": "gone", "url": url, "task_type": "detection", "class_names": ["car"]}
    down = client.post(f"{URL}/remote", json={**body, "retries": 0, "timeout_s": 2})
    assert down.status_code == 422
    assert down.json()["error"] == "invalid_input"
    assert down.json()["message"].startswith(f"cannot register {url}")
    assert "is the model server running" in down.json()["message"]

    ftp = client.post(f"{URL}/remote", json={**body, "url": "ftp://example.org/model"})
    assert ftp.status_code == 422 and "must be http(s)" in ftp.json()["message"]
    transport = client.post(f"{URL}/remote", json={**body, "image_transport": "carrier-pigeon"})
    assert transport.status_code == 422 and transport.json()["error"] == "invalid_request"
    negative = client.post(f"{URL}/remote", json={**body, "batch_size": 0})
    assert negative.status_code == 422 and "batch size" in negative.json()["message"]
    assert client.get(URL).json() == []


def test_export_zip_holds_the_registered_file_and_contract(client, colour_model):
    path, contract = colour_model
    assert upload(client, "colours", path, contract).status_code == 201
    response = client.get(f"{URL}/colours:1/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="colours-v1.zip"' in response.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["contract.json", "model.onnx"]
        exported = archive.read("model.onnx")
        exported_contract = archive.read("contract.json").decode()
    assert exported == path.read_bytes()
    assert json.loads(exported_contract) == json.loads(contract)

    # What was exported registers again as it is.
    again = upload(client, "brought-back", exported, exported_contract, "model.onnx")
    assert again.status_code == 201, again.text
    assert client.get(f"{URL}/99/export").status_code == 404


def test_export_of_a_remote_model_is_refused(client, settings):
    with FakeBackend(setup_classes=CLASSES) as backend:
        body = {"name": "remote", "url": backend.url, "task_type": "classification"}
        assert client.post(f"{URL}/remote", json=body).status_code == 201
    response = client.get(f"{URL}/remote/export")
    assert response.status_code == 422
    assert "has no file to export" in response.json()["message"]
    assert stored_entries(settings) == [".work"]  # its work folder went away too


def test_delete_is_refused_while_a_queued_task_uses_the_model(
    idle_client, app, settings, tmp_path, colour_model
):
    path, contract = colour_model
    model = upload(idle_client, "colours", path, contract).json()
    seed_classification(app, tmp_path, labeled={"red": 5, "green": 5}, unlabeled=3)
    task = idle_client.post(
        "/api/v1/datasets/pets/tasks", json={"task_type": "pre-label", "model_id": model["id"]}
    )
    assert task.status_code == 201, task.text
    task_id = task.json()["task_id"]

    refused = idle_client.delete(f"{URL}/colours:1")
    assert refused.status_code == 409
    assert refused.json()["error"] == "conflict"
    assert f"used by job {task_id} (queued)" in refused.json()["message"]
    assert (settings.model_dir / "colours-v1" / "model.onnx").is_file()

    idle_client.post(f"/api/v1/datasets/pets/tasks/{task_id}/cancel")
    deleted = idle_client.delete(f"{URL}/colours:1")
    assert deleted.status_code == 204
    assert not (settings.model_dir / "colours-v1").exists()
    assert idle_client.get(f"{URL}/colours:1").status_code == 404
    assert idle_client.delete(f"{URL}/colours:1").status_code == 404

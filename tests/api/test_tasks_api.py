"""Smart-labeling tasks (ModelArts-shaped) and the model registry over HTTP."""

from __future__ import annotations

from seeding import seed_classification

from .conftest import register_model

URL = "/api/v1/datasets/pets/tasks"


def test_failed_preconditions_list_every_reason(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 2}, unlabeled=0)
    response = client.post(URL, json={"task_type": "auto-label"})
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "precondition_failed"
    assert body["reasons"] == [
        "label 'dog' has 2 labeled image(s); it needs at least 5",
        "the dataset has no unlabeled images to label",
    ]


def test_task_runs_and_reports_progress_and_metrics(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=4)
    response = client.post(
        URL, json={"task_type": "auto-label", "config": {"algorithm_type": "accurate"}}
    )
    assert response.status_code == 201
    task = response.json()
    assert task["state"] == "succeeded"
    assert task["config"] == {"algorithm": "accurate"}
    assert task["metrics"] == {"accuracy_cv": 0.9}
    assert task["result"]["published"] == 4

    shown = client.get(f"{URL}/{task['task_id']}").json()
    assert (shown["state"], shown["stage"]) == ("succeeded", "done")
    assert shown["finished_at"] is not None and shown["eta_seconds"] is None
    # A finished task reads complete: its last stage (publishing 4 images) is all done.
    assert (shown["done"], shown["total"], shown["progress"]) == (4, 4, 1.0)
    history = client.get(URL).json()
    assert [t["task_id"] for t in history] == [task["task_id"]]
    assert client.get("/api/v1/tasks").json()[0]["task_id"] == task["task_id"]
    counts = client.get("/api/v1/datasets/pets").json()["counts"]
    assert counts["to_confirm"] == 4


def test_one_running_task_per_dataset_and_cancel(idle_client, started_jobs, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=4)
    first = idle_client.post(URL, json={"task_type": "auto-label"}).json()
    assert first["state"] == "queued"
    assert started_jobs == [first["task_id"]]

    second = idle_client.post(URL, json={"task_type": "auto-label"})
    assert second.status_code == 409
    assert any(str(first["task_id"]) in reason for reason in second.json()["reasons"])

    cancelled = idle_client.post(f"{URL}/{first['task_id']}/cancel").json()
    assert cancelled["state"] == "cancelled"
    assert idle_client.post(URL, json={"task_type": "auto-label"}).status_code == 201


def test_task_parameters_are_checked(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=4)
    bad_algorithm = client.post(
        URL, json={"task_type": "auto-label", "config": {"algorithm_type": "fastest"}}
    )
    assert bad_algorithm.status_code == 422
    no_model = client.post(URL, json={"task_type": "pre-label"})
    assert no_model.status_code == 422 and "model_id" in no_model.json()["message"]
    missing = client.post(URL, json={"task_type": "pre-label", "model_id": 999})
    assert missing.status_code == 404

    detector = register_model(app, "boxes", "detection", ["cat", "dog"])
    wrong_type = client.post(URL, json={"task_type": "pre-label", "model_id": detector.id})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"] == "wrong_task_type"

    classifier = register_model(app, "pets-net", "classification", ["cat", "dog"])
    ok = client.post(URL, json={"task_type": "pre-label", "model_id": classifier.id})
    assert ok.status_code == 201, ok.text
    assert ok.json()["config"]["model"] == "pets-net:1"

    assert client.get(f"{URL}/999").status_code == 404
    client.post("/api/v1/datasets", json={"name": "other", "task_type": "classification"})
    elsewhere = client.get(f"/api/v1/datasets/other/tasks/{ok.json()['task_id']}")
    assert elsewhere.status_code == 404


def test_models_list_and_show(client, app):
    register_model(app, "pets-net", "classification", ["cat", "dog"])
    register_model(app, "pets-net", "classification", ["cat", "dog"])
    register_model(app, "boxes", "detection", ["car"])
    listed = client.get("/api/v1/models").json()
    assert [m["ref"] for m in listed] == ["boxes:1", "pets-net:1", "pets-net:2"]
    only = client.get("/api/v1/models", params={"task_type": "classification"}).json()
    assert {m["task_type"] for m in only} == {"classification"}
    latest = client.get("/api/v1/models/pets-net").json()
    assert latest["version"] == 2 and latest["class_names"] == ["cat", "dog"]
    assert client.get("/api/v1/models/nothing").status_code == 404

"""Datasets and labels over HTTP; the error body every failure shares."""

from __future__ import annotations

from seeding import seed_classification


def test_create_list_show_delete(client):
    created = client.post(
        "/api/v1/datasets",
        json={"name": "pets", "task_type": "classification", "labels": ["cat", "dog"]},
    )
    assert created.status_code == 201
    body = created.json()
    assert body["task_type"] == "classification"
    assert [label["name"] for label in body["labels"]] == ["cat", "dog"]
    assert all(label["color"].startswith("#") for label in body["labels"])
    assert body["counts"] == {"unlabeled": 0, "to_confirm": 0, "labeled": 0, "total": 0}
    assert body["created_at"].endswith("Z")  # UTC, said out loud

    listed = client.get("/api/v1/datasets").json()
    assert [d["name"] for d in listed] == ["pets"]
    assert listed[0]["labels"][0]["images"] is None  # not counted when listing
    by_id = client.get(f"/api/v1/datasets/{body['id']}").json()
    by_name = client.get("/api/v1/datasets/pets").json()
    assert by_id == by_name

    assert client.delete(f"/api/v1/datasets/{body['id']}").status_code == 204
    assert client.get("/api/v1/datasets").json() == []
    gone = client.get(f"/api/v1/datasets/{body['id']}")
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


def test_overview_counts_and_label_distribution(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 3}, unlabeled=4)
    body = client.get("/api/v1/datasets/pets").json()
    assert body["counts"] == {"unlabeled": 4, "to_confirm": 0, "labeled": 8, "total": 12}
    assert {label["name"]: label["images"] for label in body["labels"]} == {"cat": 5, "dog": 3}


def test_errors_name_the_problem(client):
    client.post("/api/v1/datasets", json={"name": "pets", "task_type": "detection"})
    duplicate = client.post("/api/v1/datasets", json={"name": "pets", "task_type": "detection"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "already_exists"
    assert "pets" in duplicate.json()["message"]

    bad_name = client.post("/api/v1/datasets", json={"name": "../x", "task_type": "detection"})
    assert bad_name.status_code == 422
    assert bad_name.json()["error"] == "invalid_input"

    bad_type = client.post("/api/v1/datasets", json={"name": "x", "task_type": "segmentation"})
    assert bad_type.status_code == 422
    assert bad_type.json()["error"] == "invalid_request"
    assert "task_type" in bad_type.json()["message"]

    typo = client.post(
        "/api/v1/datasets", json={"name": "y", "task_type": "detection", "lables": []}
    )
    assert typo.status_code == 422  # unknown fields are refused, not ignored

    unknown_route = client.get("/api/v1/nothing-here")
    assert unknown_route.status_code == 404
    assert unknown_route.json()["error"] == "not_found"


def test_labels_add_and_validate(client):
    client.post("/api/v1/datasets", json={"name": "pets", "task_type": "classification"})
    added = client.post(
        "/api/v1/datasets/pets/labels", json={"names": ["cat", "dog"], "colors": ["#112233", None]}
    )
    assert added.status_code == 422  # a colour per name, as text
    added = client.post(
        "/api/v1/datasets/pets/labels",
        json={"names": ["cat", "dog"], "colors": ["#112233", "#aabbcc"]},
    )
    assert added.status_code == 201
    assert [label["color"] for label in added.json()] == ["#112233", "#AABBCC"]
    labels = client.get("/api/v1/datasets/pets/labels").json()
    assert [label["name"] for label in labels] == ["cat", "dog"]

    again = client.post("/api/v1/datasets/pets/labels", json={"names": ["cat"]})
    assert again.json() == []  # adding a label twice is a no-op, as in the CLI
    html = client.post("/api/v1/datasets/pets/labels", json={"names": ["<b>"]})
    assert html.status_code == 422


def test_openapi_docs_and_health(client):
    assert client.get("/api/v1/health").json()["status"] == "ok"
    assert client.get("/docs").status_code == 200
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/datasets/{dataset_id}/tasks" in paths
    assert "/api/v1/datasets/{dataset_id}/images/{image_id}/annotation" in paths


def test_web_ui_is_served(client):
    index = client.get("/")
    assert index.status_code == 200
    assert "text/html" in index.headers["content-type"]
    script = client.get("/static/js/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "no-cache"

"""Confirm (many at once, some corrected) and reject over HTTP."""

from __future__ import annotations

import pytest
from PIL import Image

from labelloop.services import importing
from seeding import seed_classification

from .conftest import predict, register_model

URL = "/api/v1/datasets/pets"


def counts(client, name: str = "pets") -> dict:
    return client.get(f"/api/v1/datasets/{name}").json()["counts"]


def to_confirm(client, **filters) -> list[dict]:
    return client.get(f"{URL}/images", params={"state": "to_confirm", **filters}).json()["items"]


def test_confirm_many_with_a_correction(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=6)
    predict(client)
    hard = to_confirm(client, hard="true")
    not_hard = to_confirm(client, hard="false")
    fixed = hard[0]
    other_label = "dog" if fixed["prediction"]["label"] == "cat" else "cat"

    response = client.post(
        f"{URL}/confirm",
        json={
            "image_ids": [item["id"] for item in not_hard],
            "corrections": [{"image_id": fixed["id"], "label": other_label}],
        },
    )
    assert response.status_code == 200
    assert response.json()["changed"] == len(not_hard) + 1
    assert counts(client) == {"unlabeled": 0, "to_confirm": 1, "labeled": 15, "total": 16}
    shown = client.get(f"{URL}/images/{fixed['id']}").json()
    assert shown["state"] == "labeled"
    assert shown["annotation"]["label"] == other_label
    assert shown["prediction"] is None
    kept = client.get(f"{URL}/images/{not_hard[0]['id']}").json()
    assert kept["annotation"]["label"] == not_hard[0]["prediction"]["label"]

    again = client.post(f"{URL}/confirm", json={"image_ids": [fixed["id"]]}).json()
    assert again["changed"] == 0
    assert again["skipped"] == [{"image": str(fixed["id"]), "reason": "is labeled, not to_confirm"}]


def test_a_bad_correction_confirms_nothing(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    items = to_confirm(client)
    response = client.post(
        f"{URL}/confirm",
        json={
            "image_ids": [items[0]["id"]],
            "corrections": [{"image_id": items[1]["id"], "label": "horse"}],
        },
    )
    assert response.status_code == 422
    assert "horse" in response.json()["message"]
    assert counts(client)["to_confirm"] == 3


def test_confirm_all_not_hard_and_selector_rules(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=6)
    predict(client)
    both = client.post(f"{URL}/confirm", json={"image_ids": [1], "all_not_hard": True})
    assert both.status_code == 422
    assert client.post(f"{URL}/confirm", json={}).status_code == 422

    result = client.post(f"{URL}/confirm", json={"all_not_hard": True}).json()
    assert result["changed"] == 4
    assert counts(client)["to_confirm"] == 2
    assert client.post(f"{URL}/confirm", json={"all": True}).json()["changed"] == 2
    assert counts(client) == {"unlabeled": 0, "to_confirm": 0, "labeled": 16, "total": 16}


def test_reject_returns_images_to_unlabeled(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    first = to_confirm(client)[0]
    result = client.post(f"{URL}/reject", json={"image_ids": [first["id"]]}).json()
    assert result["image_ids"] == [first["id"]]
    assert client.get(f"{URL}/images/{first['id']}").json()["state"] == "unlabeled"
    assert client.post(f"{URL}/reject", json={"image_ids": []}).status_code == 422


def test_detection_correction_with_boxes_and_hints(client, app, tmp_path):
    client.post(
        "/api/v1/datasets",
        json={"name": "street", "task_type": "detection", "labels": ["car", "bike"]},
    )
    folder = tmp_path / "street"
    for n in range(4):
        folder.mkdir(exist_ok=True)
        Image.new("RGB", (100, 60), (20 * n, 90, 90)).save(folder / f"road{n}.png")
    importing.import_path(app, "street", folder)
    model = register_model(app, "cars", "detection", ["car", "bike"])
    task = client.post(
        "/api/v1/datasets/street/tasks", json={"task_type": "pre-label", "model_id": model.id}
    )
    assert task.json()["state"] == "succeeded", task.text

    items = client.get("/api/v1/datasets/street/images", params={"state": "to_confirm"}).json()[
        "items"
    ]
    assert {i["prediction"]["hard_type"] for i in items} == {"none", "false_detection"}
    with_hint = next(i for i in items if i["prediction"]["hints"])
    assert with_hint["prediction"]["hints"][0]["w"] == 5
    false_detection = client.get(
        "/api/v1/datasets/street/images", params={"hard_type": "false_detection"}
    ).json()["items"]
    target = false_detection[0]
    box = {"label": "bike", "x": 5, "y": 5, "w": 20, "h": 10}
    response = client.post(
        "/api/v1/datasets/street/confirm",
        json={"corrections": [{"image_id": target["id"], "boxes": [box]}]},
    )
    assert response.json()["changed"] == 1
    shown = client.get(f"/api/v1/datasets/street/images/{target['id']}").json()
    assert [b["label"] for b in shown["annotation"]["boxes"]] == ["bike"]
    wrong = client.post(
        "/api/v1/datasets/street/confirm",
        json={"corrections": [{"image_id": items[1]["id"], "label": "car"}]},
    )
    assert wrong.json()["error"] == "wrong_task_type"


@pytest.mark.slow  # embeds the images with the real backbone (exported once a session)
def test_next_to_label_ranks_open_images(client, app, tmp_path):
    ids = seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=4)
    ranked = client.get(f"{URL}/next", params={"n": 3}).json()
    assert ranked["model"] is None  # no smart-labeling run yet: diversity alone
    assert [s["rank"] for s in ranked["items"]] == [1, 2, 3]
    assert {s["image_id"] for s in ranked["items"]} <= set(ids[""])
    assert client.get(f"{URL}/next", params={"n": 0}).status_code == 422


def test_next_to_label_is_for_classification(client):
    client.post("/api/v1/datasets", json={"name": "street", "task_type": "detection"})
    response = client.get("/api/v1/datasets/street/next")
    assert response.status_code == 422
    assert "classification" in response.json()["message"]

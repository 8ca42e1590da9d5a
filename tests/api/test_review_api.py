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


def test_confirm_not_hard_only_within_the_filters(client, app, tmp_path):
    # 12 proposals: cat and dog in turn, every third hard (score 0.55), the rest 0.95.
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=12)
    predict(client)
    cats = to_confirm(client, label="cat", hard="false")
    assert len(cats) == 4

    result = client.post(
        f"{URL}/confirm", json={"all_not_hard": True, "filters": {"label": "cat"}}
    ).json()
    assert sorted(result["image_ids"]) == sorted(item["id"] for item in cats)
    assert to_confirm(client, label="cat", hard="false") == []
    assert len(to_confirm(client, label="dog", hard="false")) == 4  # other labels untouched
    assert counts(client)["to_confirm"] == 8

    # The score range and the hard flag on screen narrow it further; "hard" leaves nothing.
    none = client.post(
        f"{URL}/confirm", json={"all_not_hard": True, "filters": {"hard": True}}
    ).json()
    assert none["changed"] == 0
    low = client.post(
        f"{URL}/confirm", json={"all_not_hard": True, "filters": {"max_score": 0.7}}
    ).json()
    assert low["changed"] == 0
    dogs = client.post(
        f"{URL}/confirm",
        json={"all_not_hard": True, "filters": {"label": "dog", "min_score": 0.9}},
    ).json()
    assert dogs["changed"] == 4
    # "all" with filters: every proposal of the label, hard or not.
    hard_cats = client.post(f"{URL}/confirm", json={"all": True, "filters": {"label": "cat"}})
    assert hard_cats.json()["changed"] == 2
    assert {i["prediction"]["label"] for i in to_confirm(client)} == {"dog"}

    mixed = client.post(f"{URL}/confirm", json={"image_ids": [1], "filters": {"label": "cat"}})
    assert mixed.status_code == 422
    unknown = client.post(
        f"{URL}/confirm", json={"all_not_hard": True, "filters": {"label": "horse"}}
    )
    assert unknown.status_code == 422
    assert "horse" in unknown.json()["message"]


def test_unconfirm_puts_the_proposal_back(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    item = to_confirm(client, hard="true")[0]
    before = counts(client)
    client.post(f"{URL}/confirm", json={"image_ids": [item["id"]]})
    confirmed = client.get(f"{URL}/images/{item['id']}").json()
    assert confirmed["state"] == "labeled"
    assert confirmed["prediction"] is None

    body = {"version": confirmed["annotation"]["version"], "prediction": item["prediction"]}
    response = client.post(f"{URL}/images/{item['id']}/unconfirm", json=body)
    assert response.status_code == 200, response.text
    back = response.json()
    assert back["state"] == "to_confirm"
    assert back["annotation"] is None
    assert back["prediction"] == item["prediction"]
    assert counts(client) == before
    assert item["id"] in {i["id"] for i in to_confirm(client, hard="true")}

    # Nothing to undo any more: the image is no longer labeled.
    again = client.post(f"{URL}/images/{item['id']}/unconfirm", json=body)
    assert again.status_code == 409
    assert again.json()["error"] == "invalid_transition"


def test_unconfirm_refuses_an_annotation_changed_since(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    item = to_confirm(client)[0]
    client.post(f"{URL}/confirm", json={"image_ids": [item["id"]]})
    version = client.get(f"{URL}/images/{item['id']}").json()["annotation"]["version"]
    other = "dog" if item["prediction"]["label"] == "cat" else "cat"
    client.put(f"{URL}/images/{item['id']}/annotation", json={"label": other, "version": version})

    body = {"version": version, "prediction": item["prediction"]}
    response = client.post(f"{URL}/images/{item['id']}/unconfirm", json=body)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    kept = client.get(f"{URL}/images/{item['id']}").json()
    assert (kept["state"], kept["annotation"]["label"]) == ("labeled", other)

    bad = {"version": version + 1, "prediction": {**item["prediction"], "label": "horse"}}
    refused = client.post(f"{URL}/images/{item['id']}/unconfirm", json=bad)
    assert refused.status_code == 422
    assert client.get(f"{URL}/images/{item['id']}").json()["state"] == "labeled"


def test_unconfirm_a_corrected_detection_restores_boxes_and_hints(client, app, tmp_path):
    client.post(
        "/api/v1/datasets",
        json={"name": "street", "task_type": "detection", "labels": ["car", "bike"]},
    )
    folder = tmp_path / "street"
    folder.mkdir()
    for n in range(3):
        Image.new("RGB", (100, 60), (30 * n, 90, 90)).save(folder / f"road{n}.png")
    importing.import_path(app, "street", folder)
    model = register_model(app, "cars", "detection", ["car", "bike"])
    client.post(
        "/api/v1/datasets/street/tasks", json={"task_type": "pre-label", "model_id": model.id}
    )
    street = "/api/v1/datasets/street"
    items = client.get(f"{street}/images", params={"state": "to_confirm"}).json()["items"]
    item = next(i for i in items if i["prediction"]["hints"])
    box = {"label": "bike", "x": 5, "y": 5, "w": 20, "h": 10}
    client.post(
        f"{street}/confirm", json={"corrections": [{"image_id": item["id"], "boxes": [box]}]}
    )
    version = client.get(f"{street}/images/{item['id']}").json()["annotation"]["version"]

    body = {"version": version, "prediction": item["prediction"]}
    back = client.post(f"{street}/images/{item['id']}/unconfirm", json=body).json()
    assert back["state"] == "to_confirm"
    assert back["prediction"]["boxes"] == item["prediction"]["boxes"]
    assert back["prediction"]["hints"] == item["prediction"]["hints"]
    assert back["prediction"]["hard_type"] == item["prediction"]["hard_type"]


def test_restore_proposal_undoes_a_reject(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    item = to_confirm(client, hard="true")[0]
    before = counts(client)
    client.post(f"{URL}/reject", json={"image_ids": [item["id"]]})
    rejected = client.get(f"{URL}/images/{item['id']}").json()
    assert (rejected["state"], rejected["prediction"]) == ("unlabeled", None)

    body = {"prediction": item["prediction"]}
    response = client.post(f"{URL}/images/{item['id']}/restore-proposal", json=body)
    assert response.status_code == 200, response.text
    back = response.json()
    assert back["state"] == "to_confirm"
    assert back["annotation"] is None
    assert back["prediction"] == item["prediction"]
    assert counts(client) == before
    assert item["id"] in {i["id"] for i in to_confirm(client, hard="true")}

    # A proposal waits again: there is no rejection to undo, and the one waiting stays.
    again = client.post(f"{URL}/images/{item['id']}/restore-proposal", json=body)
    assert again.status_code == 409
    assert again.json()["error"] == "invalid_transition"
    assert "newer proposal" in again.json()["message"]


def test_restore_proposal_refuses_an_image_labeled_since(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    item = to_confirm(client)[0]
    client.post(f"{URL}/reject", json={"image_ids": [item["id"]]})
    other = "dog" if item["prediction"]["label"] == "cat" else "cat"
    client.put(f"{URL}/images/{item['id']}/annotation", json={"label": other, "version": 0})

    body = {"prediction": item["prediction"]}
    response = client.post(f"{URL}/images/{item['id']}/restore-proposal", json=body)
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_transition"
    assert "labeled since" in response.json()["message"]
    kept = client.get(f"{URL}/images/{item['id']}").json()
    assert (kept["state"], kept["annotation"]["label"], kept["prediction"]) == (
        "labeled",
        other,
        None,
    )


def test_restore_proposal_checks_the_proposal(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    predict(client)
    item = to_confirm(client)[0]
    client.post(f"{URL}/reject", json={"image_ids": [item["id"]]})
    bad = {"prediction": {**item["prediction"], "label": "horse"}}
    refused = client.post(f"{URL}/images/{item['id']}/restore-proposal", json=bad)
    assert refused.status_code == 422
    assert "horse" in refused.json()["message"]
    assert client.get(f"{URL}/images/{item['id']}").json()["state"] == "unlabeled"

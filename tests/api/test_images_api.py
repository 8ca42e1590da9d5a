"""Images over HTTP: keyset pages with filters, files, thumbnails, annotations with versions."""

from __future__ import annotations

import io

from PIL import Image

from labelloop.services import datasets, importing
from seeding import seed_classification

from .conftest import dataset_id, predict


def test_keyset_pages_cover_every_image_once(client, app, tmp_path):
    ids = seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=7)
    seen, after, pages = [], 0, 0
    while True:
        page = client.get("/api/v1/datasets/pets/images", params={"after": after, "limit": 4})
        body = page.json()
        assert body["total"] == 17
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_after"] is None:
            break
        after = body["next_after"]
    assert pages == 5
    assert seen == sorted(i for group in ids.values() for i in group)

    unlabeled = client.get("/api/v1/datasets/pets/images", params={"state": "unlabeled"}).json()
    assert unlabeled["total"] == 7
    assert {item["state"] for item in unlabeled["items"]} == {"unlabeled"}
    cats = client.get("/api/v1/datasets/pets/images", params={"label": "cat"}).json()
    assert [item["id"] for item in cats["items"]] == ids["cat"]
    assert cats["items"][0]["annotation"]["label"] == "cat"


def test_filters_on_predictions(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=6)
    predict(client)
    url = "/api/v1/datasets/pets/images"
    hard = client.get(url, params={"state": "to_confirm", "hard": "true"}).json()
    not_hard = client.get(url, params={"state": "to_confirm", "hard": "false"}).json()
    assert hard["total"] == 2 and not_hard["total"] == 4
    item = hard["items"][0]
    assert item["prediction"]["hard"] is True
    assert item["prediction"]["hard_reasons"] == [{"code": 1, "text": "low confidence"}]
    confident = client.get(url, params={"min_score": 0.9}).json()
    assert confident["total"] == 4
    unsure = client.get(url, params={"max_score": 0.6}).json()
    assert unsure["total"] == 2

    assert client.get(url, params={"state": "done"}).status_code == 422
    assert client.get(url, params={"label": "horse"}).json()["error"] == "invalid_input"
    assert client.get(url, params={"hard_type": "odd"}).status_code == 422
    assert client.get(url, params={"limit": 0}).status_code == 422


def test_file_and_exif_aware_thumbnail(client, app, tmp_path):
    datasets.create_dataset(app, "photos", "classification", ["a", "b"])
    folder = tmp_path / "photos"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": a portrait photo stored landscape
    Image.new("RGB", (400, 200), (200, 30, 30)).save(folder / "turned.jpg", exif=exif.tobytes())
    Image.new("RGB", (300, 100), (10, 100, 30)).save(folder / "scan.tif")
    importing.import_path(app, "photos", folder)
    items = client.get("/api/v1/datasets/photos/images").json()["items"]
    by_name = {item["file"]: item for item in items}
    turned, scan = by_name["turned.jpg"], by_name["scan.tif"]
    assert (turned["width"], turned["height"]) == (200, 400)

    original = client.get(turned["file_url"])
    assert original.headers["content-type"] == "image/jpeg"
    assert original.content == (folder / "turned.jpg").read_bytes()
    assert "immutable" in original.headers["cache-control"]

    thumb = client.get(turned["thumbnail_url"], params={"size": 128})
    assert thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).size == (64, 128)  # upright, like the boxes
    cached = list((app.settings.home / "thumbnails").rglob("*-128.jpg"))
    assert len(cached) == 1
    assert client.get(turned["thumbnail_url"], params={"size": 100}).status_code == 422

    # Browsers cannot show TIFF: the "file" is a JPEG rendition of it.
    shown = client.get(scan["file_url"])
    assert shown.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(shown.content)).size == (300, 100)


def test_annotation_versions_refuse_stale_writes(client, app, tmp_path):
    ids = seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=2)
    url = f"/api/v1/datasets/pets/images/{ids[''][0]}/annotation"

    first = client.put(url, json={"label": "cat"})
    assert first.status_code == 200
    assert first.json()["state"] == "labeled"
    assert first.json()["annotation"]["version"] == 1

    # Two editors loaded version 1; the first to save wins, the second gets 409.
    assert client.put(url, json={"label": "dog", "version": 1}).json()["annotation"]["version"] == 2
    stale = client.put(url, json={"label": "cat", "version": 1})
    assert stale.status_code == 409
    assert stale.json()["error"] == "conflict"
    assert "version 2" in stale.json()["message"]
    blind = client.put(url, json={"label": "cat"})  # no version: "I saw no annotation"
    assert blind.status_code == 409
    shown = client.get(f"/api/v1/datasets/pets/images/{ids[''][0]}").json()
    assert shown["annotation"]["label"] == "dog"

    assert client.put(url, json={"label": "horse", "version": 2}).status_code == 422
    assert client.put(url, json={"boxes": [], "version": 2}).json()["error"] == "invalid_input"

    cleared = client.delete(url)
    assert cleared.json()["state"] == "unlabeled" and cleared.json()["annotation"] is None
    assert client.delete(url).status_code == 409  # nothing left to clear
    missing = client.put("/api/v1/datasets/pets/images/999999/annotation", json={"label": "cat"})
    assert missing.status_code == 404


def test_detection_boxes(client, app, tmp_path):
    client.post(
        "/api/v1/datasets", json={"name": "street", "task_type": "detection", "labels": ["car"]}
    )
    folder = tmp_path / "street"
    folder.mkdir()
    Image.new("RGB", (120, 80), (90, 90, 90)).save(folder / "road.png")
    importing.import_path(app, "street", folder)
    ds = dataset_id(client, "street")
    image = client.get(f"/api/v1/datasets/{ds}/images").json()["items"][0]
    url = f"/api/v1/datasets/{ds}/images/{image['id']}/annotation"

    saved = client.put(url, json={"boxes": [{"label": "car", "x": 10, "y": 5, "w": 40, "h": 30}]})
    assert saved.status_code == 200
    assert saved.json()["annotation"]["boxes"] == [
        {"label": "car", "x": 10.0, "y": 5.0, "w": 40.0, "h": 30.0, "score": None}
    ]
    outside = client.put(
        url,
        json={"boxes": [{"label": "car", "x": 100, "y": 5, "w": 40, "h": 30}], "version": 1},
    )
    assert outside.status_code == 422
    assert "outside" in outside.json()["message"]
    assert client.put(url, json={"label": "car", "version": 1}).json()["error"] == "wrong_task_type"
    empty = client.put(url, json={"boxes": [], "version": 1})
    assert empty.json()["annotation"]["boxes"] == []


def test_prediction_endpoint(client, app, tmp_path):
    ids = seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=3)
    assert client.get(f"/api/v1/datasets/pets/images/{ids[''][0]}/prediction").status_code == 404
    predict(client)
    prediction = client.get(f"/api/v1/datasets/pets/images/{ids[''][0]}/prediction").json()
    assert prediction["label"] in ("cat", "dog")
    assert prediction["job_id"] is not None


def test_missing_or_damaged_stored_files_answer_clearly(client, app, tmp_path):
    ids = seed_classification(app, tmp_path, labeled={"cat": 1, "dog": 1}, unlabeled=0)
    did = dataset_id(client)
    gone, damaged = ids["cat"][0], ids["dog"][0]
    base = f"/api/v1/datasets/{did}/images"
    shas = {i: client.get(f"{base}/{i}").json()["sha256"] for i in (gone, damaged)}
    app.blobs.path_for(shas[gone]).unlink()
    app.blobs.path_for(shas[damaged]).write_bytes(b"\x89PNG\r\n\x1a\n then nothing useful")
    for url in (f"{base}/{gone}/file", f"{base}/{gone}/thumbnail"):
        answer = client.get(url)
        assert answer.status_code == 404, url
        assert "is missing from the data directory" in answer.json()["message"]
    answer = client.get(f"{base}/{damaged}/thumbnail")
    assert answer.status_code == 422 and "cannot be decoded" in answer.json()["message"]
    assert client.get(f"{base}/{damaged}").status_code == 200  # the row itself is fine

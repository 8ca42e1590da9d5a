"""Import by upload (files, folders, zip) and by server path; export as a zip download."""

from __future__ import annotations

import io
import zipfile

from helpers.images import write_image
from labelloop.services.transfer import safe_relative_path
from seeding import seed_classification


def make_dataset(client, name="pets"):
    client.post("/api/v1/datasets", json={"name": name, "task_type": "classification"})


def png_bytes(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (seed * 40 % 256, 80, 120)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_upload_files_of_a_class_folder_layout(client):
    make_dataset(client)
    files = [
        ("files", (f"{label}/{label}{n}.png", png_bytes(n + 3 * i), "image/png"))
        for i, label in enumerate(["cat", "dog"])
        for n in range(2)
    ]
    files.append(("files", ("broken.png", b"not an image", "image/png")))
    response = client.post("/api/v1/datasets/pets/imports", files=files)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["format"] == "imagenet"
    assert (report["imported"], report["labeled"]) == (4, 4)
    assert report["labels_added"] == ["cat", "dog"]
    assert [s["file"] for s in report["skipped"]] == ["broken.png"]


def test_upload_of_a_whole_folder_imports_its_content(client):
    make_dataset(client)
    files = [
        ("files", (f"pets/{label}/{label}{n}.png", png_bytes(n + 3 * i), "image/png"))
        for i, label in enumerate(["cat", "dog"])
        for n in range(2)
    ]
    report = client.post("/api/v1/datasets/pets/imports", files=files).json()
    assert (report["format"], report["labeled"]) == ("imagenet", 4)


def test_upload_zip(client):
    make_dataset(client)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for n in range(3):
            zf.writestr(f"loose/img{n}.png", png_bytes(n))
    response = client.post(
        "/api/v1/datasets/pets/imports",
        files=[("files", ("photos.zip", archive.getvalue(), "application/zip"))],
        data={"format": "folder"},
    )
    assert response.json()["imported"] == 3
    assert client.get("/api/v1/datasets/pets").json()["counts"]["unlabeled"] == 3

    mixed = client.post(
        "/api/v1/datasets/pets/imports",
        files=[
            ("files", ("photos.zip", archive.getvalue(), "application/zip")),
            ("files", ("x.png", png_bytes(9), "image/png")),
        ],
    )
    assert mixed.status_code == 422


def test_upload_names_cannot_escape_the_upload_folder(client, tmp_path):
    assert safe_relative_path("../../etc/passwd", 0) == "etc/passwd"
    assert safe_relative_path("C:\\Users\\me\\a.png", 0) == "Users/me/a.png"
    assert safe_relative_path("..", 7) == "upload-00007"
    make_dataset(client)
    response = client.post(
        "/api/v1/datasets/pets/imports",
        files=[("files", ("../../escaped.png", png_bytes(1), "image/png"))],
    )
    assert response.json()["imported"] == 1
    image = client.get("/api/v1/datasets/pets/images").json()["items"][0]
    assert image["file"] == "escaped.png"


def test_import_by_server_path(client, tmp_path):
    make_dataset(client)
    for n in range(2):
        write_image(tmp_path / "incoming" / f"a{n}.jpg", seed=n)
    response = client.post(
        "/api/v1/datasets/pets/imports/path", json={"path": str(tmp_path / "incoming")}
    )
    assert response.json()["imported"] == 2
    missing = client.post("/api/v1/datasets/pets/imports/path", json={"path": "/no/such/dir"})
    assert missing.status_code == 422


def test_export_download(client, app, tmp_path):
    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=2)
    response = client.get(
        "/api/v1/datasets/pets/export", params={"format": "imagenet", "state": "labeled"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert "pets-imagenet.zip" in response.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sum(name.startswith("cat/") for name in names) == 5
    assert sum(name.startswith("dog/") for name in names) == 5

    bad = client.get("/api/v1/datasets/pets/export", params={"format": "coco"})
    assert bad.status_code == 422  # COCO holds detection datasets
    assert client.get("/api/v1/datasets/pets/export", params={"format": "nope"}).status_code == 422


def test_bad_uploads_are_named_without_server_paths(client):
    make_dataset(client)
    url = "/api/v1/datasets/pets/imports"
    broken = client.post(url, files={"files": ("cats.zip", b"PK\x03\x04cut", "application/zip")})
    assert broken.status_code == 422
    assert (
        broken.json()["message"] == "cats.zip is not a readable zip archive (damaged or cut short?)"
    )
    notes = client.post(url, files={"files": ("notes.txt", b"hello", "text/plain")})
    assert notes.status_code == 422
    message = notes.json()["message"]
    assert "no images" in message and "the uploaded files" in message
    assert "/tmp" not in message and "labelloop-upload" not in message
    assert client.get("/api/v1/datasets/pets").json()["counts"]["total"] == 0


def test_a_dataset_name_of_digits_only_is_refused(client):
    answer = client.post(
        "/api/v1/datasets", json={"name": "7", "task_type": "classification", "labels": ["a"]}
    )
    assert answer.status_code == 422 and "reads as an id" in answer.json()["message"]


def test_labels_uploaded_after_their_images_label_them(client):
    # Images first, annotations later: the second upload labels the images already there.
    make_dataset(client)
    plain = [("files", (f"img{n}.png", png_bytes(n), "image/png")) for n in range(2)]
    assert client.post("/api/v1/datasets/pets/imports", files=plain).json()["unlabeled"] == 2
    classes = [
        ("files", (f"{label}/img{n}.png", png_bytes(n), "image/png"))
        for n, label in enumerate(["cat", "dog"])
    ]
    report = client.post("/api/v1/datasets/pets/imports", files=classes).json()
    assert (report["imported"], report["annotated_existing"]) == (0, 2)
    assert client.get("/api/v1/datasets/pets").json()["counts"]["labeled"] == 2


def test_manifest_export_carries_proposals_with_their_time_and_confidence(client, app, tmp_path):
    import json

    from .conftest import predict

    seed_classification(app, tmp_path, labeled={"cat": 5, "dog": 5}, unlabeled=2)
    predict(client)
    response = client.get(
        "/api/v1/datasets/pets/export", params={"format": "manifest", "state": "to_confirm"}
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = next(n for n in archive.namelist() if n.endswith(".manifest"))
    samples = [json.loads(line) for line in archive.read(manifest).decode().splitlines()]
    assert len(samples) == 2
    for sample in samples:
        (proposal,) = [a for a in sample["annotation"] if a["annotated-by"] != "human"]
        assert proposal["creation-time"].startswith("20") and 0 <= proposal["confidence"] <= 1


def test_export_leaves_out_images_whose_file_is_missing(client, app, tmp_path, cli_env):
    import json

    from typer.testing import CliRunner

    from labelloop.cli import app as cli_app

    ids = seed_classification(app, tmp_path, labeled={"cat": 2, "dog": 2}, unlabeled=0)
    gone = client.get(f"/api/v1/datasets/pets/images/{ids['cat'][0]}").json()
    app.blobs.path_for(gone["sha256"]).unlink()
    response = client.get("/api/v1/datasets/pets/export", params={"format": "imagenet"})
    assert response.status_code == 200
    assert response.headers["x-labelloop-missing-files"] == "1"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert sum(n.endswith(".png") for n in names) == 3
    assert not any(n.endswith(gone["file"]) for n in names)
    result = CliRunner().invoke(
        cli_app, ["export", "pets", str(tmp_path / "out"), "--format", "imagenet", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["images"] == 3
    assert report["missing"] == [
        {"file": gone["file"], "reason": "its file is missing from the data directory"}
    ]

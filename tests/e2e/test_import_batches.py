"""Uploading a folder of more than 1,000 files (the server takes at most 1,000 a request): the
UI sends it in parts, shows the progress across them and sums their reports up."""

from __future__ import annotations

from .conftest import tiny_png

PER_CLASS = 530  # two class folders: 1,060 files


def test_choose_folder_with_more_than_a_thousand_files(page, server, tmp_path):
    root = tmp_path / "shapes"
    for offset, kind in enumerate(("circle", "square")):
        (root / kind).mkdir(parents=True)
        for n in range(PER_CLASS):
            (root / kind / f"{kind}_{n:04d}.png").write_bytes(tiny_png(offset * PER_CLASS + n))
    total = 2 * PER_CLASS
    created = server.api.post(
        "/datasets", json={"name": "many", "task_type": "classification"}
    ).json()

    uploads = []
    page.on(
        "request",
        lambda request: (
            uploads.append(request)
            if request.method == "POST" and request.url.endswith("/imports")
            else None
        ),
    )
    page.goto(f"/#/datasets/{created['id']}")
    page.locator(".import-panel input[webkitdirectory]").set_input_files(str(root))
    progress = page.locator("[data-testid=upload-progress]")
    progress.filter(has_text=f"of {total:,} files sent").wait_for()
    summary = page.locator("[data-testid=import-summary]")
    summary.wait_for(timeout=120_000)

    assert len(uploads) == 6  # at most 200 files a request
    text = summary.inner_text()
    assert f"imagenet format: imported {total:,} of {total:,}" in text
    assert f"({total:,} labeled, 0 unlabeled)" in text
    assert "new labels: circle, square" in text
    assert "sent in 6 parts" in text
    page.locator(".toast", has_text=f"Imported {total:,} images").wait_for()
    shown = server.api.get(f"/datasets/{created['id']}").json()
    assert shown["counts"]["labeled"] == total
    assert {label["name"]: label["images"] for label in shown["labels"]} == {
        "circle": PER_CLASS,
        "square": PER_CLASS,
    }

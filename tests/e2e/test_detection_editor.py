"""Detection in the browser: draw a box, relabel, move and resize it, save; delete and undo."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from .conftest import screenshot, wait_for_grid, wait_for_next_image

WIDTH, HEIGHT = 640, 420


def street_image(seed: int) -> bytes:
    img = Image.new("RGB", (WIDTH, HEIGHT), (170 + seed * 10, 200, 230))
    draw = ImageDraw.Draw(img)
    draw.rectangle((100, 80, 260, 240), fill=(30, 30, 120))
    draw.ellipse((360, 150, 520, 330), fill=(140, 20, 20))
    buffer = io.BytesIO()
    img.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_draw_edit_and_delete_a_box(page, server):
    created = server.api.post(
        "/datasets",
        json={"name": "street", "task_type": "detection", "labels": ["car", "person"]},
    ).json()
    files = [("files", (f"street_{n}.jpg", street_image(n), "image/jpeg")) for n in range(3)]
    assert (
        server.api.post(f"/datasets/{created['id']}/imports", files=files).json()["imported"] == 3
    )
    first = server.api.get(f"/datasets/{created['id']}/images").json()["items"][0]

    page.goto(f"/#/datasets/{created['id']}/images?tab=unlabeled")
    page.locator(f".tile[data-image-id='{first['id']}']").click()
    editor = page.locator("[data-testid=box-editor]")
    editor.wait_for()
    page.locator(".stage-image[data-laid-out=true]").wait_for()  # sized to the stage
    area = editor.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * area["width"] / WIDTH, area["y"] + y * area["height"] / HEIGHT

    def drag(start, end) -> None:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=5)
        page.mouse.up()

    drag((100, 80), (250, 230))  # draw with the first label, car
    page.keyboard.press("2")  # the selected box becomes a person
    drag((175, 155), (185, 165))  # move it by (10, 10)
    drag((260, 240), (270, 250))  # resize from its bottom-right handle
    assert page.locator(".box-list li").all_inner_texts()[0].startswith("person")
    screenshot(page, "detection-editor")
    page.keyboard.press("Enter")  # save; the editor moves on to the next image
    wait_for_next_image(page, first["id"])

    saved = server.api.get(f"/datasets/{created['id']}/images/{first['id']}").json()
    assert saved["state"] == "labeled"
    [box] = saved["annotation"]["boxes"]
    assert box["label"] == "person"
    assert (round(box["x"]), round(box["y"])) == (110, 90)
    assert (round(box["w"]), round(box["h"])) == (160, 160)

    # Back to it: select the box, delete it, undo the deletion, delete again, save "no objects".
    page.keyboard.press("ArrowLeft")
    page.locator(f".editor[data-image-id='{first['id']}']").wait_for()
    page.locator(".stage-image[data-laid-out=true]").wait_for()
    area = editor.bounding_box()
    page.mouse.click(*at(190, 170))
    page.keyboard.press("Delete")
    assert page.locator(".box-list li").count() == 0
    page.keyboard.press("Control+z")
    assert page.locator(".box-list li").count() == 1
    page.keyboard.press("Delete")
    page.get_by_role("button", name="Save: no objects").click()
    wait_for_next_image(page, first["id"])
    cleared = server.api.get(f"/datasets/{created['id']}/images/{first['id']}").json()
    assert cleared["annotation"]["boxes"] == []
    assert cleared["annotation"]["version"] == 2


def publish_proposals(server, dataset_name: str) -> None:
    """Publish a detection job's proposals straight into the server's database: one box per
    image, a hint of a missed object, every second image flagged as a missed detection."""
    from labelloop.config import Settings
    from labelloop.domain import HardReason, HardType, ImageState, JobKind
    from labelloop.jobs.runner import run_job
    from labelloop.services import jobs as job_service
    from labelloop.services.context import AppContext
    from labelloop.storage import datasets_repo, images_repo, jobs_repo

    def propose(app, job, reporter):
        with app.db.session() as session:
            images = images_repo.all_images(session, job.dataset_id, [ImageState.UNLABELED])
        predictions = []
        for n, image in enumerate(images):
            missed = n % 2 == 0
            predictions.append(
                job_service.ImagePrediction(
                    image_id=image.id,
                    boxes=(job_service.PredictedBox("car", 100, 80, 160, 160, 0.92),),
                    hints=(job_service.PredictedBox("car", 360, 150, 160, 180, 0.31),),
                    hard=missed,
                    hard_type=HardType.MISSED_DETECTION if missed else HardType.NONE,
                    hard_reasons=(HardReason(0, "a candidate object has no box"),)
                    if missed
                    else (),
                )
            )
        return job_service.JobOutcome(predictions=predictions)

    app = AppContext(Settings.for_home(server.home))
    try:
        with app.db.session() as session:
            dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
            job = jobs_repo.create_job(session, dataset.id, JobKind.PRE_LABEL, {"model": "test"})
        assert run_job(app, job.id, pipeline=propose).state.value == "succeeded"
    finally:
        app.close()


def test_review_proposals_with_hints(page, server):
    created = server.api.post(
        "/datasets", json={"name": "review", "task_type": "detection", "labels": ["car", "person"]}
    ).json()
    files = [("files", (f"street_{n}.jpg", street_image(n), "image/jpeg")) for n in range(2)]
    server.api.post(f"/datasets/{created['id']}/imports", files=files)
    publish_proposals(server, "review")

    page.goto(f"/#/datasets/{created['id']}/images?tab=to_confirm")
    tiles = page.locator("[data-testid=grid] .tile")
    tiles.first.wait_for()
    assert tiles.count() == 2
    assert tiles.first.locator(".overlay-box").count() == 1
    assert tiles.first.locator(".overlay-hint").count() == 1  # dashed, beside the box
    badge = tiles.first.locator("[data-testid=hard-badge]")
    assert badge.inner_text() == "Missed detection"
    assert "a candidate object has no box" in badge.get_attribute("title")
    page.locator("[data-filter=hard_type][data-value=none]").click()
    wait_for_grid(page, tab="to_confirm", hard_type="none")
    assert page.locator("[data-testid=grid] .tile").count() == 1

    page.locator("[data-filter=hard_type][data-value=missed_detection]").click()
    wait_for_grid(page, tab="to_confirm", hard_type="missed_detection")
    missed = page.locator("[data-testid=grid] .tile").first
    missed_id = int(missed.get_attribute("data-image-id"))
    missed.click()
    page.locator(f".editor[data-image-id='{missed_id}']").wait_for()
    editor = page.locator("[data-testid=box-editor]")
    assert editor.locator("rect.hint").count() == 1  # shown, but not one of the boxes
    assert page.locator(".box-list li").count() == 1
    screenshot(page, "review-detection")

    # The hint was right: draw the missed object's box, then confirm with the correction.
    page.locator(".stage-image[data-laid-out=true]").wait_for()
    area = editor.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * area["width"] / WIDTH, area["y"] + y * area["height"] / HEIGHT

    page.keyboard.press("2")
    page.mouse.move(*at(362, 152))
    page.mouse.down()
    page.mouse.move(*at(518, 328), steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Confirm with corrections").click()
    page.locator("[data-testid=grid] .grid-empty").wait_for()  # the list is done: back to it
    confirmed = server.api.get(f"/datasets/{created['id']}/images/{missed_id}").json()
    assert confirmed["state"] == "labeled"
    assert sorted(b["label"] for b in confirmed["annotation"]["boxes"]) == ["car", "person"]

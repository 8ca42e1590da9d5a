"""Detection in the browser: draw a box, relabel, move and resize it, save; delete and undo."""

from __future__ import annotations

from .conftest import (
    STREET_HEIGHT,
    STREET_WIDTH,
    publish_proposals,
    screenshot,
    street_image,
    wait_for_grid,
    wait_for_next_image,
)

WIDTH, HEIGHT = STREET_WIDTH, STREET_HEIGHT


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


def publish_detection_proposals(server, dataset_name: str) -> None:
    """One box per image, a hint of a missed object, every second image flagged as a missed
    detection."""
    from labelloop.domain import HardReason, HardType
    from labelloop.services import jobs as job_service

    def propose(n, image):
        missed = n % 2 == 0
        return job_service.ImagePrediction(
            image_id=image.id,
            boxes=(job_service.PredictedBox("car", 100, 80, 160, 160, 0.92),),
            hints=(job_service.PredictedBox("car", 360, 150, 160, 180, 0.31),),
            hard=missed,
            hard_type=HardType.MISSED_DETECTION if missed else HardType.NONE,
            hard_reasons=(HardReason(0, "a candidate object has no box"),) if missed else (),
        )

    publish_proposals(server, dataset_name, propose)


def test_review_proposals_with_hints(page, server):
    created = server.api.post(
        "/datasets", json={"name": "review", "task_type": "detection", "labels": ["car", "person"]}
    ).json()
    files = [("files", (f"street_{n}.jpg", street_image(n), "image/jpeg")) for n in range(2)]
    server.api.post(f"/datasets/{created['id']}/imports", files=files)
    publish_detection_proposals(server, "review")

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


def open_editor(page, dataset_id: int, image_id: int, tab: str):
    """The editor on ``image_id``, laid out; returns the box editor and a mapper from image
    pixels to page coordinates."""
    page.goto(f"/#/datasets/{dataset_id}/images?tab={tab}")
    page.locator(f".tile[data-image-id='{image_id}']").click()
    page.locator(f".editor[data-image-id='{image_id}']").wait_for()
    page.locator(".stage-image[data-laid-out=true]").wait_for()
    editor = page.locator("[data-testid=box-editor]")
    area = editor.bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * area["width"] / WIDTH, area["y"] + y * area["height"] / HEIGHT

    return editor, at


def test_draw_a_box_that_starts_inside_another_box(page, server):
    created = server.api.post(
        "/datasets", json={"name": "crowd", "task_type": "detection", "labels": ["cell"]}
    ).json()
    files = [("files", ("cells.jpg", street_image(5), "image/jpeg"))]
    server.api.post(f"/datasets/{created['id']}/imports", files=files)
    image = server.api.get(f"/datasets/{created['id']}/images").json()["items"][0]
    _, at = open_editor(page, created["id"], image["id"], "unlabeled")
    boxes = page.locator(".box-list li")

    def drag(start, end, modifiers=()) -> None:
        for key in modifiers:
            page.keyboard.down(key)
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=5)
        page.mouse.up()
        for key in modifiers:
            page.keyboard.up(key)

    drag((100, 80), (300, 280))  # the big box (selected once drawn)
    page.keyboard.press("Escape")  # deselect it
    assert page.locator(".box-list li.selected").count() == 0
    drag((150, 120), (230, 200))  # starts inside the big box: a new box, not a move
    assert boxes.count() == 2
    page.mouse.click(*at(120, 100))  # a click inside the big box only selects it
    assert boxes.count() == 2
    assert page.locator(".box-list li.selected").get_attribute("data-index") == "0"
    drag((120, 100), (130, 110))  # a drag on the selected box moves it
    drag((250, 220), (290, 270), modifiers=["Shift"])  # Shift: draw, even on the selected box
    assert boxes.count() == 3
    page.locator(".shortcuts summary").click()  # the mouse rules are in the editor's help
    assert "inside a box that is not selected" in page.locator(".shortcuts dl").inner_text()
    assert "Shift+drag" in page.locator(".shortcuts dl").inner_text()
    page.keyboard.press("Enter")
    wait_for_next_image(page, image["id"], or_grid=True)

    saved = server.api.get(f"/datasets/{created['id']}/images/{image['id']}").json()
    corners = sorted(
        (round(b["x"]), round(b["y"]), round(b["x"] + b["w"]), round(b["y"] + b["h"]))
        for b in saved["annotation"]["boxes"]
    )
    # The big box moved by (10, 10); the box drawn inside it; the one drawn with Shift.
    assert corners == [(110, 90, 310, 290), (150, 120, 230, 200), (250, 220, 290, 270)]


def test_side_panel_keeps_its_controls_in_view_with_many_boxes(page, server):
    labels = [f"kind{n:02d}" for n in range(13)]
    created = server.api.post(
        "/datasets", json={"name": "busy", "task_type": "detection", "labels": labels}
    ).json()
    files = [("files", ("busy.jpg", street_image(2), "image/jpeg"))]
    server.api.post(f"/datasets/{created['id']}/imports", files=files)
    from labelloop.services import jobs as job_service

    def propose(n, image):
        boxes = tuple(
            job_service.PredictedBox(
                labels[k % 13], 10 + 30 * (k % 10), 20 + 150 * (k // 10), 25, 60, 0.8
            )
            for k in range(20)
        )
        return job_service.ImagePrediction(image_id=image.id, boxes=boxes)

    publish_proposals(server, "busy", propose)
    image = server.api.get(f"/datasets/{created['id']}/images").json()["items"][0]
    open_editor(page, created["id"], image["id"], "to_confirm")
    assert page.locator(".box-list li").count() == 20
    assert page.locator(".label-button").count() == 13

    height = page.viewport_size["height"]
    for control in (
        page.locator("[data-testid=undo]"),
        page.locator("[data-testid=confirm-image]"),
        page.locator("[data-testid=auto-advance]"),
        page.locator(".shortcuts summary"),
    ):
        box = control.bounding_box()
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, control
    # The lists scroll inside the panel instead of pushing the controls down.
    for selector in (".box-list", ".label-buttons"):
        scrolls = page.locator(selector).evaluate("(el) => el.scrollHeight > el.clientHeight")
        assert scrolls, selector
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    # Selecting the last box scrolls the list to it and keeps the list where it is.
    page.locator(".box-list li").nth(19).scroll_into_view_if_needed()
    page.locator(".box-list li").nth(19).click()
    page.locator(".box-list li.selected[data-index='19']").wait_for()
    assert page.locator(".box-list li.selected").evaluate(
        "(li) => { const r = li.getBoundingClientRect();"
        " const p = li.parentElement.getBoundingClientRect();"
        " return r.top >= p.top - 1 && r.bottom <= p.bottom + 1; }"
    )
    screenshot(page, "editor-many-boxes")

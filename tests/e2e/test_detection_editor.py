"""Detection in the browser: draw a box, relabel, move and resize it, save; delete and undo."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from .conftest import screenshot, wait_for_next_image

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
    page.wait_for_timeout(200)  # the stage is laid out on the next frame
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
    page.wait_for_timeout(200)
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

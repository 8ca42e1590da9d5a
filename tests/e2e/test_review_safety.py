"""Rejecting is safe (asks before dropping many proposals or unsaved edits, and Ctrl+Z brings a
rejected proposal back), digit-named labels are picked by their own key, and a "possible
missed object" hint becomes a box with one click."""

from __future__ import annotations

from .conftest import (
    SCROLLS,
    STREET_HEIGHT,
    STREET_WIDTH,
    assert_controls_in_view,
    create_dataset,
    publish_proposals,
    screenshot,
    street_image,
    wait_for_grid,
    wait_for_next_image,
)

WIDTH, HEIGHT = STREET_WIDTH, STREET_HEIGHT
HINT = (360, 150, 160, 180)  # x, y, w, h of the possible missed object


def street_dataset(server, name: str, images: int, labels=("car", "person")) -> dict:
    created = server.api.post(
        "/datasets", json={"name": name, "task_type": "detection", "labels": list(labels)}
    ).json()
    files = [("files", (f"{name}_{n}.jpg", street_image(n), "image/jpeg")) for n in range(images)]
    assert server.api.post(f"/datasets/{created['id']}/imports", files=files).status_code == 200
    return created


def publish_car_with_hint(server, name: str) -> None:
    """One car box per image and a hint of a missed car beside it."""
    from labelloop.services import jobs as job_service

    def propose(n, image):
        return job_service.ImagePrediction(
            image_id=image.id,
            boxes=(job_service.PredictedBox("car", 100, 80, 160, 160, 0.92),),
            hints=(job_service.PredictedBox("car", *HINT, 0.31),),
        )

    publish_proposals(server, name, propose)


def images(server, dataset_id: int, **query) -> list[dict]:
    answer = server.api.get(f"/datasets/{dataset_id}/images", params={"limit": 1000, **query})
    return answer.json()["items"]


def open_editor(page, dataset_id: int, image_id: int, tab: str):
    page.goto(f"/#/datasets/{dataset_id}/images?tab={tab}")
    page.locator(f".tile[data-image-id='{image_id}']").click()
    page.locator(f".editor[data-image-id='{image_id}']").wait_for()
    page.locator(".stage-image[data-laid-out=true]").wait_for()
    area = page.locator("[data-testid=box-editor]").bounding_box()

    def at(x: float, y: float) -> tuple[float, float]:
        return area["x"] + x * area["width"] / WIDTH, area["y"] + y * area["height"] / HEIGHT

    return at


def test_grid_reject_of_many_asks_first_and_one_rejects_at_once(page, server):
    dataset = create_dataset(server, "rejects", "classification", ["circle", "square"], 5)
    from labelloop.services import jobs as job_service

    def propose(n, image):
        return job_service.ImagePrediction(image_id=image.id, label="circle", score=0.9)

    publish_proposals(server, "rejects", propose)
    page.goto(f"/#/datasets/{dataset['id']}/images?tab=to_confirm")
    wait_for_grid(page, tab="to_confirm")
    page.get_by_role("button", name="Select page").click()
    reject = page.locator("[data-testid=reject-selected]")
    assert reject.inner_text() == "Reject 5"
    reject.click()
    dialog = page.locator("dialog[open]")
    assert dialog.locator("h2").inner_text() == "Reject 5 proposals?"
    assert "5 proposals are dropped; the images go back to Unlabeled." in dialog.inner_text()
    screenshot(page, "reject-many-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert len(images(server, dataset["id"], state="to_confirm")) == 5  # nothing happened

    reject.click()
    page.locator("dialog[open]").get_by_role("button", name="Reject 5").click()
    page.locator("[data-testid=grid] .grid-empty").wait_for()
    assert len(images(server, dataset["id"], state="to_confirm")) == 0
    assert len(images(server, dataset["id"], state="unlabeled")) == 5

    # One image: rejected at once, no question.
    publish_proposals(server, "rejects", propose)
    page.reload()
    wait_for_grid(page, tab="to_confirm")
    page.locator("[data-testid=grid] .tile .tile-check").first.check()
    assert reject.inner_text() == "Reject 1"
    reject.click()
    page.locator("[data-testid=selection-count]", has_text="Nothing selected").wait_for()
    assert page.locator("dialog[open]").count() == 0
    assert len(images(server, dataset["id"], state="to_confirm")) == 4


def test_reject_with_unsaved_edits_asks_and_ctrl_z_brings_the_proposal_back(page, server):
    dataset = street_dataset(server, "undo-reject", 2)
    publish_car_with_hint(server, "undo-reject")
    first = images(server, dataset["id"], state="to_confirm")[0]
    at = open_editor(page, dataset["id"], first["id"], "to_confirm")
    boxes = page.locator(".box-list li")

    # An unsaved box: R asks, and Cancel keeps the box and the proposal.
    page.mouse.move(*at(20, 300))
    page.mouse.down()
    page.mouse.move(*at(80, 380), steps=5)
    page.mouse.up()
    assert boxes.count() == 2
    page.keyboard.press("r")
    dialog = page.locator("dialog[open]")
    assert "did not save" in dialog.inner_text()
    screenshot(page, "reject-unsaved-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    dialog.wait_for(state="detached")
    assert boxes.count() == 2
    assert images(server, dataset["id"], state="to_confirm")[0]["id"] == first["id"]

    # Asked again and accepted: the proposal is dropped and the editor goes on.
    page.keyboard.press("r")
    page.locator("dialog[open]").get_by_role("button", name="Discard edits and reject").click()
    wait_for_next_image(page, first["id"], or_grid=True)
    rejected = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert (rejected["state"], rejected["prediction"]) == ("unlabeled", None)

    # Ctrl+Z: the proposal is back, as it was (its box and its hint), in To be confirmed.
    page.keyboard.press("Control+z")
    page.locator(f".editor[data-image-id='{first['id']}'][data-state=to_confirm]").wait_for()
    back = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert back["state"] == "to_confirm"
    assert back["prediction"]["boxes"] == first["prediction"]["boxes"]
    assert back["prediction"]["hints"] == first["prediction"]["hints"]
    assert page.locator(".box-list li").count() == 1
    page.locator(".back-link").click()
    wait_for_grid(page, tab="to_confirm")
    assert page.locator(f"[data-testid=grid] .tile[data-image-id='{first['id']}']").count() == 1


def test_r_without_edits_rejects_at_once_and_ctrl_z_undoes_it(page, server):
    dataset = create_dataset(server, "quick-reject", "classification", ["cat", "dog"], 2)
    from labelloop.services import jobs as job_service

    def propose(n, image):
        return job_service.ImagePrediction(image_id=image.id, label="dog", score=0.7)

    publish_proposals(server, "quick-reject", propose)
    first = images(server, dataset["id"], state="to_confirm")[0]
    page.goto(f"/#/datasets/{dataset['id']}/images?tab=to_confirm")
    page.locator(f".tile[data-image-id='{first['id']}']").click()
    page.locator(f".editor[data-image-id='{first['id']}']").wait_for()
    page.keyboard.press("r")
    wait_for_next_image(page, first["id"], or_grid=True)
    assert page.locator("dialog[open]").count() == 0
    gone = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert gone["state"] == "unlabeled"

    page.keyboard.press("Control+z")
    page.locator(f".editor[data-image-id='{first['id']}'][data-state=to_confirm]").wait_for()
    back = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert (back["state"], back["prediction"]["label"]) == ("to_confirm", "dog")
    assert page.locator(".label-button.active").get_attribute("data-label") == "dog"


def test_digit_labels_are_picked_by_their_own_key(page, server):
    digits = [str(n) for n in range(10)]
    dataset = create_dataset(server, "sign-digits", "classification", digits, 3)
    ids = [item["id"] for item in images(server, dataset["id"], state="unlabeled")]
    page.goto(f"/#/datasets/{dataset['id']}/images?tab=unlabeled")
    wait_for_grid(page, tab="unlabeled")
    assert "0–9 picks a label" in page.locator(".toolbar").inner_text()
    page.locator(f".tile[data-image-id='{ids[0]}']").click()
    page.locator(f".editor[data-image-id='{ids[0]}']").wait_for()
    # The key shown next to each label is its name, 0 included.
    for name in digits:
        button = page.locator(f".label-button[data-label='{name}']")
        assert button.locator("kbd").inner_text() == name
    screenshot(page, "editor-digit-labels")

    page.keyboard.press("3")
    wait_for_next_image(page, ids[0])
    page.keyboard.press("0")
    wait_for_next_image(page, ids[1])
    page.keyboard.press("9")
    wait_for_next_image(page, ids[2], or_grid=True)
    labels = [
        server.api.get(f"/datasets/{dataset['id']}/images/{i}").json()["annotation"]["label"]
        for i in ids
    ]
    assert labels == ["3", "0", "9"]

    # The overview shows the same keys.
    page.goto(f"/#/datasets/{dataset['id']}")
    row = page.locator(".dist-row[data-label='0']")
    assert row.locator("kbd").inner_text() == "0"


def test_positional_keys_stay_for_other_label_names(page, server):
    dataset = create_dataset(server, "mixed", "classification", ["cat", "7", "dog"], 1)
    [item] = images(server, dataset["id"], state="unlabeled")
    page.goto(f"/#/datasets/{dataset['id']}/label/{item['id']}?tab=unlabeled")
    page.locator(f".editor[data-image-id='{item['id']}']").wait_for()
    kbds = page.locator(".label-button kbd").all_inner_texts()
    assert kbds == ["1", "2", "3"]
    page.keyboard.press("2")
    wait_for_next_image(page, item["id"], or_grid=True)
    saved = server.api.get(f"/datasets/{dataset['id']}/images/{item['id']}").json()
    assert saved["annotation"]["label"] == "7"


def test_a_click_on_a_hint_makes_it_a_box(page, server):
    dataset = street_dataset(server, "hints", 1)
    publish_car_with_hint(server, "hints")
    [item] = images(server, dataset["id"], state="to_confirm")
    at = open_editor(page, dataset["id"], item["id"], "to_confirm")
    hint = page.locator("[data-testid=box-editor] rect.hint")
    boxes = page.locator(".box-list li")
    assert "click to add it as a car box" in hint.locator("title").text_content()
    assert "click one to add it" in page.locator("[data-testid=proposal-summary]").inner_text()

    page.mouse.click(*at(HINT[0] + HINT[2] / 2, HINT[1] + HINT[3] / 2))
    assert boxes.count() == 2
    assert hint.count() == 0
    assert boxes.nth(1).inner_text().startswith("car")
    assert page.locator("[data-testid=confirm-image]").inner_text() == "Confirm with corrections"
    screenshot(page, "hint-accepted")
    page.mouse.move(*at(5, 5))

    # Undo: the box goes, the hint is back; Enter on the focused hint accepts it again.
    page.keyboard.press("Control+z")
    assert boxes.count() == 1
    assert hint.count() == 1
    hint.focus()
    page.keyboard.press("Enter")
    assert boxes.count() == 2
    assert page.locator(f".editor[data-image-id='{item['id']}']").count() == 1  # not saved

    page.keyboard.press("Enter")  # confirm with the added box
    page.locator("[data-testid=grid]").wait_for()
    saved = server.api.get(f"/datasets/{dataset['id']}/images/{item['id']}").json()
    assert saved["state"] == "labeled"
    got = sorted(
        (b["label"], round(b["x"]), round(b["y"]), round(b["w"]), round(b["h"]))
        for b in saved["annotation"]["boxes"]
    )
    assert got == [("car", 100, 80, 160, 160), ("car", *HINT)]


VISIBLE_IN_LIST = (
    "(el) => { const r = el.getBoundingClientRect();"
    " const p = el.closest('.label-buttons, .box-list').getBoundingClientRect();"
    " return r.top >= p.top - 1 && r.bottom <= p.bottom + 1 && r.bottom <= innerHeight; }"
)


def test_side_panel_shows_three_labels_and_gives_the_boxes_the_room(page, server):
    from labelloop.domain import HardReason, HardType
    from labelloop.services import jobs as job_service

    dataset = street_dataset(server, "crowded", 1, labels=("car", "person", "bike"))

    def propose(n, image):
        boxes = tuple(
            job_service.PredictedBox(
                ("car", "person", "bike")[k % 3],
                10 + 30 * (k % 10),
                20 + 120 * (k // 10),
                25,
                60,
                0.8,
            )
            for k in range(21)
        )
        return job_service.ImagePrediction(
            image_id=image.id,
            boxes=boxes,
            hints=(job_service.PredictedBox("car", *HINT, 0.31),),
            hard=True,
            hard_type=HardType.MISSED_DETECTION,
            hard_reasons=(HardReason(0, "a candidate object has no box"),),
        )

    publish_proposals(server, "crowded", propose)
    [item] = images(server, dataset["id"], state="to_confirm")
    open_editor(page, dataset["id"], item["id"], "to_confirm")
    page.locator(".label-button[data-label=bike]").click()  # the last label, selected
    labels = page.locator(".label-button")
    assert labels.count() == 3
    for n in range(3):
        assert labels.nth(n).evaluate(VISIBLE_IN_LIST), n
    assert not page.locator(".label-buttons").evaluate(SCROLLS)
    box_list = page.locator(".box-list")
    assert page.locator(".box-list li").count() == 21
    assert box_list.evaluate(SCROLLS)
    rows = box_list.evaluate("(el) => el.clientHeight / el.querySelector('li').offsetHeight")
    assert rows >= 7, rows  # was 2.5 rows of 21
    assert_controls_in_view(page)
    screenshot(page, "editor-three-labels-21-boxes")


def test_classification_review_shows_ten_labels_without_scrolling(page, server):
    from labelloop.services import jobs as job_service

    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship"]
    names.append("truck")
    dataset = create_dataset(server, "ten", "classification", names, 1)

    def propose(n, image):
        return job_service.ImagePrediction(image_id=image.id, label="truck", score=0.6, hard=True)

    publish_proposals(server, "ten", propose)
    [item] = images(server, dataset["id"], state="to_confirm")
    page.goto(f"/#/datasets/{dataset['id']}/label/{item['id']}?tab=to_confirm")
    page.locator(f".editor[data-image-id='{item['id']}']").wait_for()
    labels = page.locator(".label-button")
    assert labels.count() == 10
    for n in range(10):
        assert labels.nth(n).evaluate(VISIBLE_IN_LIST), names[n]
    assert not page.locator(".label-buttons").evaluate(SCROLLS)
    assert page.locator(".label-button.active").get_attribute("data-label") == "truck"
    assert_controls_in_view(page)
    screenshot(page, "editor-ten-labels")


def test_label_next_without_a_trained_model_says_so(page, server):
    dataset = create_dataset(server, "prelabeled", "classification", ["a", "b"], 2)
    ids = [item["id"] for item in images(server, dataset["id"], state="unlabeled")]
    ranked = {
        "items": [
            {
                "image_id": i,
                "file": f"img_{n}.png",
                "rank": n + 1,
                "state": "unlabeled",
                "utility": 0.5,
                "predicted": None,
                "score": None,
            }
            for n, i in enumerate(ids)
        ],
        "model": None,
        "ranked_from": 2,
        "open_images": 2,
    }
    # The ranking itself needs the backbone; this checks what the page says about it.
    page.route("**/api/v1/datasets/*/next?*", lambda route: route.fulfill(json=ranked))
    page.goto(f"/#/datasets/{dataset['id']}/next")
    page.locator(".tile[data-image-id]").first.wait_for()
    text = page.locator(".page, body").first.inner_text()
    assert "No model trained on this dataset yet: ranked by diversity" in text
    assert "Run smart labeling once" not in text


def test_pre_label_without_models_points_to_the_models_page(page, server):
    dataset = create_dataset(server, "no-models", "detection", ["car", "bike"], 1)
    page.goto(f"/#/datasets/{dataset['id']}/images")
    page.get_by_role("button", name="Start smart labeling").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_text("Pre-labeling", exact=True).click()
    note = dialog.locator("[data-testid=no-models]")
    text = note.inner_text()
    assert "No detection models in the registry yet" in text
    assert text.index("Models page") < text.index("labelloop model register")  # UI first
    note.get_by_role("link", name="Models page").click()
    page.wait_for_url("**/#/models?task_type=detection")
    dialog.wait_for(state="detached")
    page.get_by_role("heading", name="Models").wait_for()

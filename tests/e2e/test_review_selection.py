"""Reviewing proposals in bulk: "select all not hard" stays within the filters on screen, ticks
survive paging under the same filters, and undoing a confirmation brings the proposal back."""

from __future__ import annotations

import re

from .conftest import (
    create_dataset,
    publish_proposals,
    screenshot,
    wait_for_grid,
    wait_for_next_image,
)

IMAGES = 130  # more than two pages of 60 for one label


def propose_shapes(n, image):
    """circle and square in turn; every third hard (score 0.55), the rest 0.95."""
    from labelloop.domain import HardReason
    from labelloop.services import jobs as job_service

    hard = n % 3 == 0
    return job_service.ImagePrediction(
        image_id=image.id,
        label="circle" if n % 2 == 0 else "square",
        score=0.55 if hard else 0.95,
        hard=hard,
        hard_coefficient=0.8 if hard else 0.1,
        hard_reasons=(HardReason(1, "low confidence"),) if hard else (),
    )


def proposals(server, dataset_id: int, **filters) -> list[dict]:
    query = {"state": "to_confirm", "limit": 1000, **filters}
    return server.api.get(f"/datasets/{dataset_id}/images", params=query).json()["items"]


def test_select_all_not_hard_keeps_to_the_filters_and_ticks_survive_paging(page, server):
    dataset = create_dataset(server, "bulk", "classification", ["circle", "square"], IMAGES)
    publish_proposals(server, "bulk", propose_shapes)
    circles = proposals(server, dataset["id"], label="circle", hard="false")
    squares = proposals(server, dataset["id"], label="square", hard="false")
    assert (len(circles), len(squares)) == (43, 43)

    page.goto(f"/#/datasets/{dataset['id']}/images?tab=to_confirm")
    wait_for_grid(page, tab="to_confirm", label="")
    select_not_hard = page.locator("[data-testid=select-not-hard]")
    assert select_not_hard.inner_text() == "Select all not hard (86)"
    count = page.locator("[data-testid=selection-count]")
    pager = page.locator(".pager > span")

    # The label filter narrows what "select all not hard" means, and says so.
    page.get_by_label("Label").select_option("circle")
    wait_for_grid(page, tab="to_confirm", label="circle")
    assert select_not_hard.inner_text() == "Select all not hard (43)"
    assert pager.inner_text() == "1–60 of 65"

    # Ticks on page 1 survive Next and Previous; the count says where they are.
    tiles = page.locator("[data-testid=grid] .tile")
    ticked = [int(tiles.nth(n).get_attribute("data-image-id")) for n in (0, 1)]
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(1).locator(".tile-check").click()
    assert count.inner_text() == "2 selected"
    page.get_by_role("button", name="Next →").click()
    page.locator(".pager > span", has_text="61–65 of 65").wait_for()
    wait_for_grid(page, tab="to_confirm", label="circle")
    assert count.inner_text() == "2 selected · 2 on other pages"
    ticked.append(int(tiles.nth(0).get_attribute("data-image-id")))
    tiles.nth(0).locator(".tile-check").click()
    assert count.inner_text() == "3 selected · 2 on other pages"
    page.get_by_role("button", name="← Previous").click()
    page.locator(".pager > span", has_text="1–60 of 65").wait_for()
    wait_for_grid(page, tab="to_confirm", label="circle")
    assert tiles.nth(0).locator(".tile-check").is_checked()
    assert tiles.nth(1).locator(".tile-check").is_checked()
    assert count.inner_text() == "3 selected · 1 on other pages"
    screenshot(page, "to-confirm-selection")
    page.locator("[data-testid=confirm-selected]", has_text="Confirm 3").click()
    page.locator(".toast", has_text="Confirmed 3 images").wait_for()
    for image_id in ticked:
        shown = server.api.get(f"/datasets/{dataset['id']}/images/{image_id}").json()
        assert shown["state"] == "labeled"

    # Another filter starts with nothing selected, and coming back does not restore ticks.
    page.locator("[data-testid=selection-count]", has_text="Nothing selected").wait_for()
    tiles.nth(0).locator(".tile-check").click()
    assert count.inner_text() == "1 selected"
    page.get_by_label("Label").select_option("square")
    wait_for_grid(page, tab="to_confirm", label="square")
    assert count.inner_text() == "Nothing selected"
    page.get_by_label("Label").select_option("circle")
    wait_for_grid(page, tab="to_confirm", label="circle")
    assert count.inner_text() == "Nothing selected"

    # Select all not hard under "circle": only the circles are confirmed.
    left = proposals(server, dataset["id"], label="circle", hard="false")
    hard_circles = proposals(server, dataset["id"], label="circle", hard="true")
    assert select_not_hard.inner_text() == f"Select all not hard ({len(left)})"
    select_not_hard.click()
    page.locator("[data-testid=selection-count]", has_text=f"{len(left)} selected").wait_for()
    confirm = page.locator("[data-testid=confirm-selected]")
    assert confirm.inner_text() == f"Confirm {len(left)}"
    confirm.click()
    page.locator(".toast", has_text=f"Confirmed {len(left)} images").wait_for()
    assert proposals(server, dataset["id"], label="circle", hard="false") == []
    assert len(proposals(server, dataset["id"], label="square", hard="false")) == 43
    assert proposals(server, dataset["id"], label="circle", hard="true") == hard_circles
    page.locator("[data-testid=select-not-hard]", has_text="(0)").wait_for()


def test_undo_of_a_confirmation_brings_the_proposal_back(page, server):
    dataset = create_dataset(server, "undo", "classification", ["circle", "square"], 3)
    publish_proposals(server, "undo", propose_shapes)
    first = proposals(server, dataset["id"])[0]

    page.goto(f"/#/datasets/{dataset['id']}/images?tab=to_confirm")
    page.locator(f".tile[data-image-id='{first['id']}']").click()
    page.locator(f".editor[data-image-id='{first['id']}']").wait_for()
    page.keyboard.press("Enter")  # confirm the proposal as it is; the editor goes on
    wait_for_next_image(page, first["id"])
    confirmed = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert confirmed["state"] == "labeled"

    page.keyboard.press("Control+z")
    page.locator(f".editor[data-image-id='{first['id']}'][data-state=to_confirm]").wait_for()
    page.locator(".toast", has_text="Confirmation undone").wait_for()
    back = server.api.get(f"/datasets/{dataset['id']}/images/{first['id']}").json()
    assert back["state"] == "to_confirm"
    assert back["annotation"] is None
    assert back["prediction"] == first["prediction"]
    assert re.fullmatch(r"To be confirmed", page.locator("[data-testid=image-state]").inner_text())
    # The proposal is on screen again, with its hard flag.
    assert page.locator(".label-button.active").get_attribute("data-label") == "circle"
    assert page.locator(".editor-panel [data-testid=hard-badge]").inner_text() == "Hard"

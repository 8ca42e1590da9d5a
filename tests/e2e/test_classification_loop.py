"""The labeling loop in the browser, on real generated images and the real smart-labeling job:
create a dataset -> upload -> label 5 per class by keyboard -> start smart labeling -> watch the
progress bar finish -> filter hard -> correct one -> batch-confirm the not-hard ones."""

from __future__ import annotations

import random
import re

import pytest

from labelloop.services.demo import draw_shape

from .conftest import screenshot, wait_for_grid, wait_for_next_image, wait_quietly

CLASSES = ("circle", "square")
KEYS = {"circle": "1", "square": "2"}
PER_CLASS = 12
TO_LABEL = 5
JOB_SECONDS = 180


def write_images(folder) -> dict[str, str]:
    """Neutral file names (the name never gives the class away); returns name -> class."""
    rng = random.Random(11)
    plan = [kind for kind in CLASSES for _ in range(PER_CLASS)]
    rng.shuffle(plan)
    folder.mkdir(parents=True)
    truth = {}
    for n, kind in enumerate(plan):
        name = f"photo_{n:03d}.jpg"
        draw_shape(kind, rng).save(folder / name, quality=90)
        truth[name] = kind
    return truth


def counts(server, dataset_id: int) -> dict:
    return server.api.get(f"/datasets/{dataset_id}").json()["counts"]


def to_confirm(server, dataset_id: int, **filters) -> list[dict]:
    query = {"state": "to_confirm", "limit": 1000, **filters}
    return server.api.get(f"/datasets/{dataset_id}/images", params=query).json()["items"]


@pytest.mark.slow
def test_label_smart_label_review_confirm(page, server, tmp_path):
    truth = write_images(tmp_path / "upload")

    # Create the dataset.
    page.goto("/")
    page.get_by_role("button", name="New dataset").first.click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name").fill("shapes")
    labels = dialog.get_by_role("textbox", name="Labels")
    for label in CLASSES:
        labels.fill(label)
        labels.press("Enter")
    dialog.get_by_role("button", name="Create").click()
    page.wait_for_url("**/#/datasets/*")
    dataset_id = int(page.url.rsplit("/", 1)[-1])

    # Upload the images.
    uploads = [str(tmp_path / "upload" / name) for name in sorted(truth)]
    page.locator(".import-panel input[type=file]:not([webkitdirectory])").set_input_files(uploads)
    page.locator("[data-testid=import-summary]", has_text=f"of {len(truth)}").wait_for()
    assert counts(server, dataset_id)["unlabeled"] == len(truth)

    # Too early for smart labeling: the dialog lists what is missing.
    page.get_by_role("button", name="Start smart labeling").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_role("button", name="Start").click()
    reasons = dialog.locator(".form-error li")
    reasons.first.wait_for()
    assert reasons.all_inner_texts() == [
        f"label '{label}' has 0 labeled image(s); it needs at least 5" for label in CLASSES
    ]
    dialog.get_by_role("button", name="Cancel").click()

    # Label five images per class by keyboard, skipping the rest with the arrow key.
    page.get_by_role("link", name="Start labeling").click()
    page.locator(".tile").first.click()
    needed = dict.fromkeys(CLASSES, TO_LABEL)
    while any(needed.values()):
        editor = page.locator(".editor")
        editor.wait_for()
        image_id = editor.get_attribute("data-image-id")
        kind = truth[page.locator(".image-name").inner_text()]
        if needed[kind]:
            needed[kind] -= 1
            if not any(needed.values()):
                screenshot(page, "labeling")
            page.keyboard.press(KEYS[kind])
        else:
            page.keyboard.press("ArrowRight")
        wait_for_next_image(page, image_id)
    assert counts(server, dataset_id)["labeled"] == 2 * TO_LABEL

    # What to label next: no model yet, so the open images are ranked by diversity.
    page.goto(f"/#/datasets/{dataset_id}/next")
    page.locator(".tile .rank").first.wait_for(timeout=60_000)
    assert page.locator(".tile").count() == len(truth) - 2 * TO_LABEL
    screenshot(page, "label-next")

    # Start smart labeling and watch the progress bar to the end.
    page.goto(f"/#/datasets/{dataset_id}/images")
    page.locator("[data-testid=grid]").wait_for()
    page.get_by_role("button", name="Start smart labeling").click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_text("Fast", exact=True).wait_for()
    screenshot(page, "smart-labeling-dialog")
    dialog.get_by_role("button", name="Start").click()
    progress = page.locator("[data-testid=task-progress]")
    progress.wait_for()
    progress.locator(".progress").wait_for()
    page.locator("[data-testid=task-progress]:not([data-state=queued])").wait_for(timeout=30_000)
    # A picture with a count; a fast job may end before one shows.
    wait_quietly(progress.locator(".task-detail", has_text=" / "), 20_000)
    screenshot(page, "progress")
    finished = ",".join(
        f"[data-testid=task-progress][data-state={state}]"
        for state in ("succeeded", "failed", "cancelled", "interrupted")
    )
    page.locator(finished).wait_for(timeout=JOB_SECONDS * 1000)
    [task] = server.api.get(f"/datasets/{dataset_id}/tasks").json()
    assert task["state"] == "succeeded", f"the smart-labeling job ended {task['state']}: {task}"
    assert progress.get_attribute("data-state") == "succeeded"
    open_count = len(truth) - 2 * TO_LABEL
    assert counts(server, dataset_id)["to_confirm"] == open_count

    # Filter the hard ones.
    page.locator("a.tab[data-tab=to_confirm]").click()
    page.locator("a.tab.active[data-tab=to_confirm]").wait_for()
    hard = to_confirm(server, dataset_id, hard="true")
    page.locator("[data-testid=grid] .tile").first.wait_for()
    # The job's own estimate and what to do with it: check the hard ones, bulk-confirm the rest.
    advice = page.locator("[data-testid=confirm-advice]", has_text="right")
    advice.wait_for()
    assert re.search(
        rf"Job #{task['task_id']} estimates its not-hard proposals \d+\.\d% right",
        advice.inner_text(),
    )
    if hard:
        assert f"{len(hard)} hard to check one by one" in advice.inner_text()
    screenshot(page, "to-confirm")
    page.locator("[data-filter=hard][data-value=true]").click()
    wait_for_grid(page, tab="to_confirm", hard="true")
    assert page.locator("[data-testid=grid] .tile").count() == len(hard)
    assert page.locator("[data-testid=grid] .hard-badge", has_text="Not hard").count() == 0

    # Correct one: a wrong proposal if there is one (the hard ones first), else any hard one.
    proposals = hard + to_confirm(server, dataset_id, hard="false")
    wrong = [p for p in proposals if p["prediction"]["label"] != truth[p["file"]]]
    chosen = (wrong or hard or proposals)[0]
    if chosen not in hard:
        page.locator("[data-filter=hard][data-value='']").click()
        wait_for_grid(page, tab="to_confirm")
    page.locator(f".tile[data-image-id='{chosen['id']}']").click()
    page.locator(f".editor[data-image-id='{chosen['id']}']").wait_for()
    page.keyboard.press(KEYS[truth[chosen["file"]]])
    wait_for_next_image(page, chosen["id"], or_grid=True)
    corrected = server.api.get(f"/datasets/{dataset_id}/images/{chosen['id']}").json()
    assert corrected["state"] == "labeled"
    assert corrected["annotation"]["label"] == truth[chosen["file"]]

    # Back on the grid: shift-click selects a range; then confirm every not-hard one at once.
    if page.locator(".editor").count():
        page.keyboard.press("Escape")
    page.locator("[data-filter=hard][data-value='']").click()
    wait_for_grid(page, tab="to_confirm")
    tiles = page.locator("[data-testid=grid] .tile")
    tiles.nth(0).locator(".tile-check").click()
    tiles.nth(2).click(modifiers=["Shift"])
    assert page.locator(".selection-count").inner_text() == "3 selected"
    page.get_by_role("button", name="Clear").click()

    not_hard = to_confirm(server, dataset_id, hard="false")
    before = counts(server, dataset_id)
    page.locator("[data-testid=select-not-hard]").click()
    page.locator(".selection-count", has_text=f"{len(not_hard)} selected").wait_for()
    page.locator("[data-testid=confirm-selected]").click()
    page.locator(".toast", has_text=f"Confirmed {len(not_hard)} image").wait_for()
    after = counts(server, dataset_id)
    assert after["labeled"] == before["labeled"] + len(not_hard)
    assert after["to_confirm"] == before["to_confirm"] - len(not_hard)
    assert after["labeled"] + after["to_confirm"] == len(truth)
    for tab in ("unlabeled", "to_confirm", "labeled"):
        count = page.locator(f"a.tab[data-tab={tab}] .tab-count")
        count.filter(has_text=re.compile(rf"^{after[tab]}$")).wait_for()

    # The overview, the job history and the model it trained.
    page.goto(f"/#/datasets/{dataset_id}")
    page.locator("[data-testid=count-labeled]", has_text=str(after["labeled"])).wait_for()
    screenshot(page, "overview")
    page.goto("/#/jobs")
    page.locator(".jobs-table .status-succeeded").first.wait_for()
    screenshot(page, "jobs")
    page.goto("/#/models")
    page.locator("table.table tbody tr").first.wait_for()
    screenshot(page, "models")
    page.goto("/#/datasets")
    page.locator(".dataset-card").first.wait_for()
    screenshot(page, "datasets")

"""The frame around the pages: the empty datasets list, notices (toasts), dialogs and route
changes, the delete dialog, long label names, the smart-labeling dialog and the editor panel
with many labels."""

from __future__ import annotations

from .conftest import assert_controls_in_view, create_dataset, publish_proposals, screenshot

DANGER_RED = "rgb(194, 47, 47)"  # --danger in base.css


def register_model(server, name: str, class_names: list[str]) -> int:
    """A registry entry in the server's database (its file is never loaded here)."""
    from labelloop.config import Settings
    from labelloop.domain import TaskType
    from labelloop.services.context import AppContext
    from labelloop.storage import models_repo

    app = AppContext(Settings.for_home(server.home))
    try:
        with app.db.session() as session:
            model = models_repo.add_model(
                session,
                name=name,
                task_type=TaskType.CLASSIFICATION,
                source="onnx",
                class_names=class_names,
                metrics={},
                config={},
                path=None,
            )
            return model.id
    finally:
        app.close()


def test_the_empty_datasets_list_is_centred(page, server):
    for dataset in server.api.get("/datasets").json():
        server.api.delete(f"/datasets/{dataset['id']}")
    page.goto("/#/datasets")
    empty = page.locator(".dataset-list > .empty")
    empty.get_by_text("No datasets yet").wait_for()
    box, frame = empty.bounding_box(), page.locator(".dataset-list").bounding_box()
    assert abs((box["x"] + box["width"] / 2) - (frame["x"] + frame["width"] / 2)) < 2
    assert box["width"] > frame["width"] / 3  # not squeezed into the first grid column
    screenshot(page, "datasets-empty")


def test_toasts_fade_are_dismissed_by_a_click_and_stack_at_most_three(page, server):
    from playwright.sync_api import expect

    page.clock.install()
    page.goto("/#/datasets")
    page.locator(".page-header").wait_for()
    show = (
        "([message, kind]) => import('/static/js/toast.js')"
        ".then((m) => { m.toast(message, { kind }); })"
    )
    for n in range(1, 6):
        page.evaluate(show, [f"problem {n}", "error"])
    toasts = page.locator("#toasts .toast:not(.leaving)")
    expect(toasts).to_have_count(3)
    assert toasts.all_inner_texts()[0].startswith("problem 3")  # the oldest went first
    page.clock.run_for(1000)
    expect(page.locator("#toasts .toast")).to_have_count(3)  # the pushed-out ones are gone

    toasts.first.click()  # anywhere on it
    # The pointer leaves: a toast sliding up under a resting pointer rightly waits for it.
    page.mouse.move(0, 0)
    expect(toasts).to_have_count(2)
    page.clock.run_for(1000)
    expect(page.locator("#toasts .toast")).to_have_count(2)

    # Errors stay longer than other notices, but they too go by themselves.
    page.evaluate(show, ["saved", "info"])
    page.clock.run_for(5000)
    expect(page.locator("#toasts .toast", has_text="saved")).to_have_count(0)
    expect(page.locator("#toasts .toast", has_text="problem")).to_have_count(2)
    page.clock.run_for(8000)
    expect(page.locator("#toasts .toast")).to_have_count(0)


def test_a_route_change_closes_the_delete_dialog_and_its_button_is_red(page, server):
    from playwright.sync_api import expect

    dataset = create_dataset(server, "doomed", "classification", ["a", "b"])
    page.goto(f"/#/datasets/{dataset['id']}")
    page.get_by_role("button", name="Delete…").click()
    dialog = page.locator("dialog[open]")
    delete = dialog.get_by_role("button", name="Delete dataset")
    assert delete.evaluate("(b) => getComputedStyle(b).backgroundColor") == DANGER_RED
    dialog.get_by_label("Dataset name").fill("not the name")
    delete.click()
    expect(dialog.locator(".form-error")).to_contain_text("does not match")
    screenshot(page, "delete-dialog")

    page.evaluate("location.hash = '#/jobs'")  # e.g. the browser's Back button
    expect(page.locator("dialog[open]")).to_have_count(0)
    page.locator(".topnav a[data-nav=datasets]").click()  # nothing blocks the page
    page.locator(".dataset-card[data-dataset-name='doomed']").wait_for()
    assert server.api.get(f"/datasets/{dataset['id']}").status_code == 200


def test_long_label_names_are_ellipsized_with_the_full_name_on_hover(page, server):
    long_name = "platelet_cluster_partially_occluded_by_a_red_blood_cell_at_edge"  # 63 chars
    dataset = create_dataset(server, "cells", "classification", [long_name, "other"], 2)
    page.goto(f"/#/datasets/{dataset['id']}")
    name = page.locator(f".dist-row[data-label='{long_name}'] .dist-name")
    name.wait_for()
    assert name.get_attribute("title") == long_name
    text = name.locator(".dist-label")
    assert text.inner_text() == long_name
    assert text.evaluate("(el) => el.scrollWidth > el.clientWidth")  # cut on screen...
    assert text.evaluate("(el) => getComputedStyle(el).textOverflow") == "ellipsis"  # ...visibly
    row, count = page.locator(f".dist-row[data-label='{long_name}']"), name.locator("xpath=..")
    assert count.locator(".dist-count").is_visible()
    assert row.bounding_box()["height"] < 40  # one line, aligned with the other rows
    screenshot(page, "overview-long-label")


def test_smart_dialog_hints_reasons_and_class_mapping(page, server):
    from playwright.sync_api import expect

    dataset = create_dataset(server, "smart", "classification", ["circle", "square"], 6)
    register_model(server, "shapes", ["Circle", "triangle", "square"])
    page.goto(f"/#/datasets/{dataset['id']}")
    page.get_by_role("button", name="Start smart labeling").click()
    dialog = page.locator("dialog[open]")
    needs = dialog.locator("[data-testid=smart-needs]")
    expect(needs).to_contain_text("at least 2 labels with 5 labeled images each")

    # Active learning cannot start yet: its reasons show, then go with a change of type.
    dialog.get_by_role("button", name="Start").click()
    reasons = dialog.locator(".form-error li")
    expect(reasons).to_have_count(2)
    dialog.get_by_text("Pre-labeling", exact=True).click()
    expect(dialog.locator(".form-error")).to_be_hidden()
    expect(needs).not_to_contain_text("5 labeled images")
    expect(needs).to_contain_text("model whose classes map")

    # The model's classes, each with a label: same name (any case) pre-filled, else ignored.
    mapping = dialog.locator("[data-testid=label-map]")
    expect(mapping.locator("select")).to_have_count(3)
    expect(mapping.get_by_label("Label for Circle")).to_have_value("circle")
    expect(mapping.get_by_label("Label for square")).to_have_value("square")
    expect(mapping.get_by_label("Label for triangle")).to_have_value("")
    expect(mapping).to_contain_text("2 of 3 classes mapped")
    mapping.get_by_label("Label for triangle").select_option("square")
    expect(mapping).to_contain_text("3 of 3 classes mapped")
    screenshot(page, "smart-labeling-mapping")

    with page.expect_response(
        lambda r: r.url.endswith("/tasks") and r.request.method == "POST"
    ) as answer:
        dialog.get_by_role("button", name="Start").click()
    sent = answer.value.request.post_data_json
    assert sent["task_type"] == "pre-label"
    assert sent["label_map"] == {"Circle": "circle", "triangle": "square", "square": "square"}
    assert answer.value.status == 201
    task = answer.value.json()
    assert task["config"]["map"] == sent["label_map"]
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_smart_dialog_states_the_detection_preconditions(page, server):
    from playwright.sync_api import expect

    dataset = create_dataset(server, "boxes", "detection", ["car", "bike"], 2)
    page.goto(f"/#/datasets/{dataset['id']}")
    page.get_by_role("button", name="Start smart labeling").click()
    needs = page.locator("dialog[open] [data-testid=smart-needs]")
    expect(needs).to_contain_text("each with boxes on at least 5 labeled images")
    expect(needs).not_to_contain_text("5 labeled images each")


def test_editor_panel_keeps_its_controls_in_view_with_thirteen_labels(page, server):
    from labelloop.services import jobs as job_service

    labels = [f"class_{n:02d}" for n in range(13)]
    dataset = create_dataset(server, "thirteen", "classification", labels, 2)

    def propose(n, image):
        return job_service.ImagePrediction(image_id=image.id, label=labels[12], score=0.6)

    publish_proposals(server, "thirteen", propose)
    image = server.api.get(f"/datasets/{dataset['id']}/images").json()["items"][0]
    page.goto(f"/#/datasets/{dataset['id']}/label/{image['id']}?tab=to_confirm")
    page.locator(f".editor[data-image-id='{image['id']}']").wait_for()
    assert_controls_in_view(page, panel_scrolls=True)
    # The proposed label (the 13th) is scrolled into view in its list.
    assert page.locator(".label-button[data-label='class_12']").evaluate(
        "(b) => { const r = b.getBoundingClientRect();"
        " const p = b.parentElement.getBoundingClientRect();"
        " return r.top >= p.top - 1 && r.bottom <= p.bottom + 1; }"
    )
    assert page.evaluate("document.scrollingElement.scrollHeight <= innerHeight")
    screenshot(page, "editor-thirteen-labels")


def test_api_docs_render_offline(page, server):
    # Served from local files (the browser reaches nothing else here), and the bundled Swagger
    # UI must read the OpenAPI 3.1 that FastAPI writes: an older one shows "Unable to render".
    page.goto("/docs")
    page.locator(".opblock").first.wait_for(timeout=15000)
    assert page.locator(".opblock").count() > 20
    assert "Unable to render" not in page.content()
    assert page.locator(".opblock-summary-path", has_text="/api/v1/datasets").count() > 0

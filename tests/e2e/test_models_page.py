"""The Models page in the browser: register a real ONNX model with its contract.json (a
contract that does not fit shows the API's reason first), see it listed with its export link,
then delete it after confirming."""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "prelabel"))
import onnx_builders as ob

CLASSES = ["red", "green", "blue"]


def test_register_an_onnx_model_see_it_listed_then_delete_it(page, server, tmp_path):
    from playwright.sync_api import expect

    model_path = ob.classifier(tmp_path / "colours.onnx")
    contract = ob.contract("classification", CLASSES, size=(32, 32)).to_dict()
    contract["outputs_probabilities"] = False
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps(contract, indent=2))

    page.goto("/#/models")
    page.get_by_text("No models yet.").wait_for()
    page.get_by_role("button", name="Register model").first.click()
    dialog = page.locator("dialog[open]")
    dialog.get_by_label("Name").fill("colours")
    dialog.get_by_label("ONNX file", exact=True).set_input_files(str(model_path))
    dialog.get_by_text("colours.onnx (").wait_for()

    # A contract promising a fourth class: the dialog stays open with the server's reason.
    wrong = {**contract, "class_names": [*CLASSES, "grey"]}
    dialog.get_by_label("Contract JSON").fill(json.dumps(wrong))
    dialog.get_by_role("button", name="Register").click()
    expect(dialog.locator(".form-error")).to_contain_text("does not fit its contract")
    assert server.api.get("/models").json() == []

    # The right contract, loaded from its file into the box.
    dialog.get_by_label("Contract file").set_input_files(str(contract_path))
    expect(dialog.get_by_label("Contract JSON")).to_have_value(contract_path.read_text())
    dialog.get_by_role("button", name="Register").click()
    row = page.locator("tr[data-model-ref='colours:1']")
    row.wait_for()
    expect(page.locator("dialog[open]")).to_have_count(0)
    expect(row).to_contain_text("ONNX upload")
    expect(row).to_contain_text("red, green, blue")

    # Its export link downloads the very file that was uploaded.
    export = row.get_by_role("link", name="Export").get_attribute("href")
    assert export == "/api/v1/models/colours%3A1/export"
    download = server.api.get(export.removeprefix("/api/v1"))
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert archive.read("model.onnx") == model_path.read_bytes()

    # Delete, after confirming.
    row.get_by_role("button", name="Delete…").click()
    confirm = page.locator("dialog[open]")
    expect(confirm).to_contain_text("Delete model colours:1?")
    confirm.get_by_role("button", name="Delete").click()
    row.wait_for(state="detached")
    page.get_by_text("No models yet.").wait_for()
    assert server.api.get("/models").json() == []

"""The command line, in-process (typer's runner) and as the installed console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers.images import write_image
from labelloop.cli import app, parse_box
from labelloop.domain import Box, InvalidInput

runner = CliRunner()


def run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def run_json(*args: str):
    return json.loads(run(*args, "--json").stdout)


def test_dataset_lifecycle_and_json(cli_env, tmp_path):
    run("dataset", "create", "pets", "--type", "classification", "--label", "cat")
    assert run_json("label", "add", "pets", "dog", "cat") == [
        {"name": "dog", "color": run_json("dataset", "show", "pets")["labels"][1]["color"]}
    ]
    listed = run_json("dataset", "list")
    assert [d["name"] for d in listed] == ["pets"]
    assert listed[0]["counts"]["total"] == 0
    shown = run_json("dataset", "show", "pets")
    assert shown["task_type"] == "classification"
    assert [label["name"] for label in shown["labels"]] == ["cat", "dog"]
    run("dataset", "delete", "pets", "--yes")
    assert run_json("dataset", "list") == []


def test_delete_asks_even_from_a_pipe_and_deletes_labeled_datasets(cli_env, tmp_path):
    write_image(tmp_path / "src" / "cat" / "c.png", seed=1)
    write_image(tmp_path / "src" / "dog" / "d.png", seed=2)
    run("dataset", "create", "pets", "--type", "classification")
    run("import", "pets", str(tmp_path / "src"), "--format", "imagenet")
    for answer in ("n\n", ""):  # "no", and a pipe with nothing in it
        result = runner.invoke(app, ["dataset", "delete", "pets"], input=answer)
        assert result.exit_code != 0
        assert run_json("dataset", "show", "pets")["counts"]["labeled"] == 2
    result = runner.invoke(app, ["dataset", "delete", "pets"], input="y\n")
    assert result.exit_code == 0, result.output
    assert run_json("dataset", "list") == []


def test_names_with_brackets_print_as_typed(cli_env, tmp_path):
    # Rich would read "[red]x" as a style and crash on "a[/]b"; they are plain text here.
    run("dataset", "create", "pets", "--type", "classification")
    run("label", "add", "pets", "[red]x", "a[/]b")
    shown = run("dataset", "show", "pets").stdout
    assert "[red]x" in shown and "a[/]b" in shown
    assert "■ [red]x" in shown and "[#" not in shown  # the colour swatch is a style, not text
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "[bold]oops.jpg").write_text("not an image")
    report = run("import", "pets", str(tmp_path / "src"), "--format", "folder").stdout
    assert "[bold]oops.jpg" in report
    result = run("dataset", "show", "[/]nope", ok=False)
    assert "'[/]nope' does not exist" in result.stderr


def test_errors_are_clear_and_exit_non_zero(cli_env):
    result = run("dataset", "show", "nope", ok=False)
    assert result.exit_code == 1
    assert "dataset 'nope' does not exist" in result.stderr
    result = run("dataset", "create", "x", "--type", "video", "--json", ok=False)
    assert result.exit_code == 1
    assert "video" in json.loads(result.stderr)["error"]


def test_import_annotate_confirm_export(cli_env, tmp_path):
    src = tmp_path / "src"
    for i in range(2):
        write_image(src / "cat" / f"c{i}.png", seed=i)
    write_image(src / "new.png", seed=9)
    run("dataset", "create", "pets", "--type", "classification")
    report = run_json("import", "pets", str(src), "--format", "imagenet")
    assert (report["imported"], report["labeled"], report["unlabeled"]) == (3, 2, 1)
    run("label", "add", "pets", "dog")
    image = run_json("annotate", "pets", "new.png", "--label", "dog")
    assert image["state"] == "labeled" and image["annotation"]["label"] == "dog"
    bad = run("annotate", "pets", "new.png", "--label", "owl", ok=False)
    assert "'owl' is not a label" in bad.stderr
    page = run_json("images", "pets", "--state", "labeled", "--limit", "2")
    assert len(page["items"]) == 2 and page["total"] == 3 and page["next_after"]
    rest = run_json("images", "pets", "--state", "labeled", "--after", str(page["next_after"]))
    assert len(rest["items"]) == 1 and rest["next_after"] is None
    out = tmp_path / "out"
    exported = run_json("export", "pets", str(out), "--format", "imagenet", "--state", "labeled")
    assert exported["images"] == 3
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "cat/c0.png",
        "cat/c1.png",
        "dog/new.png",
    ]


def test_detection_boxes_from_the_command_line(cli_env, tmp_path):
    write_image(tmp_path / "src" / "a.png", size=(100, 80), seed=3)
    run("dataset", "create", "cells", "--type", "detection", "--label", "rbc", "--label", "a,b")
    run("import", "cells", str(tmp_path / "src"))
    image = run_json(
        "annotate", "cells", "a.png", "--box", "rbc,10,10,20,20", "--box", "a,b,0,0,5,5"
    )
    assert [b["label"] for b in image["annotation"]["boxes"]] == ["rbc", "a,b"]
    bad = run("annotate", "cells", "a.png", "--box", "rbc,90,10,20,20", ok=False)
    assert "outside" in bad.stderr
    empty = run_json("annotate", "cells", "a.png", "--no-objects")
    assert empty["annotation"]["boxes"] == [] and empty["state"] == "labeled"


def test_parse_box():
    assert parse_box("t-shirt,1,2,3.5,4") == Box("t-shirt", 1, 2, 3.5, 4)
    with pytest.raises(InvalidInput):
        parse_box("cat,1,2,3")
    with pytest.raises(InvalidInput, match="numbers"):
        parse_box("cat,1,2,x,4")


def test_console_script_demo(tmp_path):
    """The installed ``labelloop`` command runs the demo of the README (SQLite, local files)."""
    exe = Path(sys.executable).with_name("labelloop")
    if not exe.exists():
        pytest.skip("the labelloop console script is not installed in this environment")
    env = {**os.environ, "LABELLOOP_HOME": str(tmp_path / "home")}
    env.pop("LABELLOOP_DATABASE_URL", None)
    subprocess.run([str(exe), "demo"], env=env, check=True, capture_output=True, timeout=300)
    shown = subprocess.run(
        [str(exe), "dataset", "show", "demo-shapes", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(shown.stdout)
    assert data["counts"]["labeled"] == 18 and data["counts"]["unlabeled"] == 102
    assert (tmp_path / "home" / "labelloop.db").exists()


def test_labels_imported_for_images_already_there_are_reported(cli_env, tmp_path):
    for i, label in enumerate(("cat", "dog")):
        write_image(tmp_path / "classes" / label / f"{label}.png", seed=i)
        write_image(tmp_path / "plain" / f"{label}.png", seed=i)
    run("dataset", "create", "pets", "--type", "classification")
    run("import", "pets", str(tmp_path / "plain"), "--format", "folder")
    report = run("import", "pets", str(tmp_path / "classes"), "--format", "imagenet").stdout
    assert "labeled 2 images already here" in " ".join(report.split())  # Rich wraps lines
    assert run_json("dataset", "show", "pets")["counts"]["labeled"] == 2

"""labelloop annotate / confirm / reject / images."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from labelloop.domain import Box, InvalidInput
from labelloop.services import annotating, browsing
from labelloop.services.context import AppContext

from ._common import (
    JsonFlag,
    app,
    out,
    run_action,
)

# ---------------------------------------------------------------- labeling


def parse_box(text: str) -> Box:
    """LABEL,x,y,w,h — the label may itself hold commas, so split from the right."""
    parts = text.rsplit(",", 4)
    if len(parts) != 5:
        raise InvalidInput(f"box {text!r} is not LABEL,x,y,w,h")
    try:
        x, y, w, h = (float(p) for p in parts[1:])
    except ValueError:
        raise InvalidInput(f"box {text!r}: x, y, w, h must be numbers") from None
    return Box(parts[0].strip(), x, y, w, h)


@app.command("annotate")
def annotate_cmd(
    name: str,
    image: Annotated[str, typer.Argument(help="Image id, path, file name or sha256 prefix")],
    label: Annotated[str | None, typer.Option("--label", help="Classification label")] = None,
    boxes: Annotated[
        list[str] | None,
        typer.Option("--box", help="Detection box LABEL,x,y,w,h in pixels (repeatable)"),
    ] = None,
    no_objects: Annotated[
        bool, typer.Option("--no-objects", help="Detection: the image holds no objects")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Label one image by hand (replaces its annotation; the image becomes labeled)."""

    def action(c: AppContext):
        parsed = [parse_box(b) for b in boxes] if boxes else ([] if no_objects else None)
        annotation = annotating.annotate(c, name, image, label=label, boxes=parsed)
        return browsing.get_image(c, name, str(annotation.image_id))

    run_action(action, as_json, lambda v: out.print(f"image {v.image.id} labeled"))


@app.command("confirm")
def confirm_cmd(
    name: str,
    images: Annotated[
        list[str] | None, typer.Option("--images", "--image", help="Image refs (repeatable)")
    ] = None,
    all_not_hard: Annotated[
        bool, typer.Option("--all-not-hard", help="Every prediction not flagged hard")
    ] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every prediction")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Accept predictions: to confirm -> labeled."""
    run_action(
        lambda c: annotating.confirm(
            c, name, images=_split(images), all_not_hard=all_not_hard, everything=everything
        ),
        as_json,
        _show_batch("confirmed"),
    )


@app.command("reject")
def reject_cmd(
    name: str,
    images: Annotated[list[str], typer.Option("--images", "--image", help="Image refs")],
    as_json: JsonFlag = False,
) -> None:
    """Drop predictions: to confirm -> unlabeled."""
    run_action(
        lambda c: annotating.reject(c, name, _split(images)), as_json, _show_batch("rejected")
    )


def _split(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    return [part.strip() for v in values for part in v.split(",") if part.strip()]


def _show_batch(verb: str) -> Callable[[annotating.BatchResult], None]:
    def show(r: annotating.BatchResult) -> None:
        out.print(f"{verb} {len(r.changed)} image(s)")
        for ref, why in r.skipped:
            out.print(
                f"  [yellow]skipped[/] {escape(str(ref))}: {escape(why)}",
                highlight=False,
                markup=True,
            )

    return show


@app.command("images")
def images_cmd(
    name: str,
    state: Annotated[str | None, typer.Option(help="unlabeled, to_confirm or labeled")] = None,
    label: Annotated[str | None, typer.Option(help="Annotated or predicted label")] = None,
    hard: Annotated[bool | None, typer.Option("--hard/--not-hard", help="Hard flag")] = None,
    hard_type: Annotated[str | None, typer.Option(help="none, false_detection, ...")] = None,
    after: Annotated[int, typer.Option(help="Continue after this image id")] = 0,
    limit: Annotated[int, typer.Option(help="Page size")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """List images page by page, with annotations and predictions."""

    def show(page: browsing.ImagePage) -> None:
        table = Table("id", "file", "state", "label / boxes", "prediction", "hard")
        for v in page.items:
            a, p = v.annotation, v.prediction
            ann = (a.label or f"{len(a.boxes)} boxes") if a else ""
            pred = ""
            if p:
                # A remote model may answer a label without a score: show the label alone.
                score = f" {p.score:.2f}" if p.score is not None else ""
                pred = f"{p.label}{score}" if p.label else f"{len(p.boxes)} boxes"
            hard_text = ""
            if p:
                hard_text = p.hard_type.value if p.hard_type else ("hard" if p.hard else "")
            table.add_row(
                str(v.image.id), v.image.original_path, v.image.state.value, ann, pred, hard_text
            )
        out.print(table)
        more = f"; next page: --after {page.next_after}" if page.next_after else ""
        out.print(f"{len(page.items)} of {page.total}{more}")

    run_action(
        lambda c: browsing.list_images(
            c,
            name,
            state=state,
            label=label,
            hard=hard,
            hard_type=hard_type,
            after=after,
            limit=limit,
        ),
        as_json,
        show,
    )


@app.command("next")
def next_cmd(
    name: str,
    n: Annotated[int, typer.Option("--n", help="How many images to suggest")] = 20,
    as_json: JsonFlag = False,
) -> None:
    """The open images to label first: most uncertain under the latest model, and diverse."""
    from labelloop.services.query import next_to_label

    def show(result) -> None:
        if not result.suggestions:
            out.print("nothing left to label")
            return
        basis = f"model {result.model}" if result.model else "diversity (no model yet)"
        out.print(f"label these first (ranked by {basis}):")
        table = Table("rank", "id", "file", "state", "predicted", "score")
        for s in result.suggestions:
            table.add_row(
                str(s.rank),
                str(s.image.id),
                s.image.original_path,
                s.image.state.value,
                s.predicted or "",
                f"{s.score:.2f}" if s.score is not None else "",
            )
        out.print(table)

    run_action(lambda c: next_to_label(c, name, n), as_json, show)

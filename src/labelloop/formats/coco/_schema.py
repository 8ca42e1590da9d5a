"""The fields of a COCO detection file, checked one entry at a time.

``parse_coco`` raises ``CocoProblem`` only when the file as a whole is not COCO (the top level
is not an object, ``images`` is not a list ...). A bad image entry, category or annotation is
reported as a message naming its position and field, and only that entry is dropped.

labelloop's exporter adds fields COCO tools ignore: ``labelloop_state`` on each image (so an
image listed without annotations reads back unlabeled rather than labeled-empty) and
``labelloop_predicted`` on each predicted box (never read back as an annotation).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labelloop.domain import Box, InvalidInput
from labelloop.domain.rules import validate_label_name

from .._json_input import FieldProblem, finite_number, positive_int, type_name

__all__ = [
    "PREDICTED_FIELD",
    "STATE_FIELD",
    "CocoFile",
    "CocoImage",
    "CocoProblem",
    "is_coco_object",
    "parse_coco",
]

STATE_FIELD = "labelloop_state"
PREDICTED_FIELD = "labelloop_predicted"
_NOT_LABELED_STATES = ("unlabeled", "to_confirm")


class CocoProblem(ValueError):
    """The file is not a COCO detection file at all; the message says why."""


@dataclass
class CocoImage:
    index: int  # position in ``images``, for messages
    id: int | str
    file_name: str
    declared_size: tuple[int, int] | None
    marked_unlabeled: bool  # labelloop_state says the image had no confirmed annotation

    @property
    def where(self) -> str:
        return f"images[{self.index}] ({self.file_name})"


@dataclass
class CocoFile:
    images: list[CocoImage] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # valid category names, in file order
    boxes: dict[int | str, list[Box]] = field(default_factory=dict)  # image id -> boxes
    annotated: set[int | str] = field(default_factory=set)  # image ids with an annotation
    dropped: dict[int | str, int] = field(default_factory=dict)  # image id -> boxes dropped
    # An image entry skipped: (problem, its file_name when the entry names one). The file is
    # then held back too: importing it unlabeled would hide that its annotation was lost.
    image_errors: list[tuple[str, str | None]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # a category or box dropped

    def is_labeled(self, image: CocoImage) -> bool:
        # COCO lists an image it annotated as having no objects; labelloop marks the others.
        return image.id in self.annotated or not image.marked_unlabeled


def is_coco_object(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("images"), list)


def parse_coco(data: object) -> CocoFile:
    if not isinstance(data, dict):
        raise CocoProblem(f"not a COCO file: the top level is {type_name(data)}, not an object")
    images = _list_field(data, "images", required=True)
    annotations = _list_field(data, "annotations", required=False)
    categories = _list_field(data, "categories", required=False)
    parsed = CocoFile()
    names = _parse_categories(categories, parsed)
    _parse_images(images, parsed)
    _parse_annotations(annotations, names, parsed)
    return parsed


def _list_field(data: dict, name: str, *, required: bool) -> list:
    if name not in data:
        if required:
            raise CocoProblem(f"not a COCO file: the field {name!r} is missing")
        return []
    value = data[name]
    if not isinstance(value, list):
        raise CocoProblem(f"field {name!r} is {type_name(value)}, not a list")
    return value


def _entry_id(value: object, field_name: str) -> int | str:
    """COCO ids are whole numbers; some converters write text. Anything else is an error."""
    if isinstance(value, str) and value:
        return value
    number = finite_number(value, field_name)
    if not number.is_integer():
        raise FieldProblem(f"{field_name} is {number}, not a whole number")
    return int(number)


def _parse_categories(categories: list, parsed: CocoFile) -> dict[int | str, str | None]:
    """Category id -> label name; None for a category whose name is not a valid label."""
    names: dict[int | str, str | None] = {}
    for index, entry in enumerate(categories):
        where = f"categories[{index}]"
        if not isinstance(entry, dict):
            parsed.warnings.append(f"{where} is {type_name(entry)}, not an object; ignored")
            continue
        try:
            category_id = _entry_id(entry.get("id"), f"{where}.id")
        except FieldProblem as exc:
            parsed.warnings.append(f"{exc}; category ignored")
            continue
        if category_id in names:
            parsed.warnings.append(f"{where}: id {category_id} is used twice; the first is kept")
            continue
        try:
            name = validate_label_name(entry.get("name"))
        except InvalidInput as exc:
            parsed.warnings.append(f"{where} (id {category_id}): {exc}; its boxes are dropped")
            names[category_id] = None
            continue
        names[category_id] = name
        if name not in parsed.labels:
            parsed.labels.append(name)
    return names


def _parse_images(images: list, parsed: CocoFile) -> None:
    seen: set[int | str] = set()
    for index, entry in enumerate(images):
        where = f"images[{index}]"
        if not isinstance(entry, dict):
            problem = f"{where} is {type_name(entry)}, not an object; skipped"
            parsed.image_errors.append((problem, None))
            continue
        file_name = entry.get("file_name")
        if not isinstance(file_name, str) or not file_name.strip():
            problem = f"{where}: file_name is {type_name(file_name)}, not a file name; skipped"
            parsed.image_errors.append((problem, None))
            continue
        file_name = file_name.strip()
        try:
            image_id = _entry_id(entry.get("id"), f"{where}.id")
        except FieldProblem as exc:
            parsed.image_errors.append((f"{exc}; image {file_name} skipped", file_name))
            continue
        if image_id in seen:
            problem = f"{where} ({file_name}): id {image_id} is used by an earlier image; skipped"
            parsed.image_errors.append((problem, file_name))
            continue
        seen.add(image_id)
        state = entry.get(STATE_FIELD)
        image = CocoImage(
            index=index,
            id=image_id,
            file_name=file_name,
            declared_size=None,
            marked_unlabeled=state in _NOT_LABELED_STATES,
        )
        image.declared_size = _declared_size(entry, image, parsed)
        parsed.images.append(image)


def _declared_size(entry: dict, image: CocoImage, parsed: CocoFile) -> tuple[int, int] | None:
    if "width" not in entry and "height" not in entry:
        return None
    try:
        width = positive_int(entry.get("width"), f"{image.where}.width")
        height = positive_int(entry.get("height"), f"{image.where}.height")
    except FieldProblem as exc:
        parsed.warnings.append(f"{exc}; the size in the file is ignored")
        return None
    return (width, height)


def _parse_annotations(
    annotations: list, names: dict[int | str, str | None], parsed: CocoFile
) -> None:
    files = {image.id: image.file_name for image in parsed.images}
    for index, entry in enumerate(annotations):
        where = f"annotations[{index}]"
        if not isinstance(entry, dict):
            parsed.warnings.append(f"{where} is {type_name(entry)}, not an object; dropped")
            continue
        if entry.get(PREDICTED_FIELD) is True:
            continue  # a model's box exported by labelloop, never an annotation
        image_id = entry.get("image_id")
        if isinstance(image_id, float) and image_id.is_integer():
            image_id = int(image_id)
        if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
            parsed.warnings.append(f"{where}: image_id is {type_name(image_id)}; box dropped")
            continue
        if image_id not in files:
            parsed.warnings.append(
                f"{where}: image_id {image_id!r} is not an image of this file; box dropped"
            )
            continue
        parsed.annotated.add(image_id)  # labeled, even if this box turns out unusable
        where = f"{where} (image {files[image_id]})"
        try:
            box = _box(entry, names, where)
        except FieldProblem as exc:
            parsed.warnings.append(f"{exc}; box dropped")
            parsed.dropped[image_id] = parsed.dropped.get(image_id, 0) + 1
            continue
        parsed.boxes.setdefault(image_id, []).append(box)


def _box(entry: dict, names: dict[int | str, str | None], where: str) -> Box:
    category_id = entry.get("category_id")
    if isinstance(category_id, float) and category_id.is_integer():
        category_id = int(category_id)
    if isinstance(category_id, bool) or not isinstance(category_id, (int, str)):
        raise FieldProblem(f"{where}: category_id is {type_name(category_id)}")
    if category_id not in names:
        raise FieldProblem(f"{where}: category_id {category_id!r} is not in categories")
    label = names[category_id]
    if label is None:
        raise FieldProblem(f"{where}: category {category_id!r} has no valid name")
    bbox = entry.get("bbox")
    if not isinstance(bbox, list) or len(bbox) != 4:
        shown = f"a list of {len(bbox)}" if isinstance(bbox, list) else type_name(bbox)
        raise FieldProblem(f"{where}: bbox is {shown}, not [x, y, width, height]")
    x, y, w, h = (finite_number(v, f"{where}: bbox[{i}]") for i, v in enumerate(bbox))
    if w <= 0 or h <= 0:
        raise FieldProblem(f"{where}: bbox {bbox} has zero or negative width or height")
    return Box(label, x, y, w, h)

"""Pascal VOC XML (detection). Coordinate convention and prediction files: see ``_schema``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path

from labelloop.domain import TaskType

from .._xml import XmlProblem, read_xml
from ..base import (
    CONFIDENCE_CERTAIN,
    CONFIDENCE_LIKELY,
    CONFIDENCE_NONE,
    DatasetInfo,
    ExportItem,
    ExportReport,
    Format,
    ImportContext,
    ImportItem,
    walk_files,
)
from ._exporter import write_voc
from ._importer import read_voc
from ._schema import (
    CONFIDENCE_TAG,
    ROOT_TAG,
    SCORE_TAG,
    VocAnnotation,
    annotation_element,
    is_prediction,
    parse_annotation,
    prediction_element,
)

__all__ = [
    "CONFIDENCE_TAG",
    "FORMAT",
    "ROOT_TAG",
    "SCORE_TAG",
    "VocAnnotation",
    "VocFormat",
    "annotation_element",
    "parse_annotation",
    "prediction_element",
]

ANNOTATION_DIRS = ("Annotations", "annotations")
# detect() looks at a few XML files only: enough to tell VOC from other XML, cheap on big trees.
_XML_FILES_TO_SNIFF = 3
_FILES_TO_WALK = 5000


class VocFormat(Format):
    name = "voc"
    task_types = (TaskType.DETECTION,)
    description = "Pascal VOC XML: Annotations/*.xml + JPEGImages/ (or XML beside each image)"

    def detect(self, root: Path) -> float:
        for folder in ANNOTATION_DIRS:
            if (root / folder).is_dir() and _holds_voc_xml(root / folder):
                # A ModelArts manifest keeps its detection boxes in VOC files too: then the
                # manifest, which also lists the unlabeled images, is the better reading.
                has_manifest = any(root.glob("*.manifest"))
                return CONFIDENCE_LIKELY if has_manifest else CONFIDENCE_CERTAIN
        return CONFIDENCE_LIKELY if _holds_voc_xml(root) else CONFIDENCE_NONE

    def read(self, root: Path, ctx: ImportContext) -> Iterator[ImportItem]:
        return read_voc(root, ctx)

    def write(self, out: Path, dataset: DatasetInfo, items: Iterable[ExportItem]) -> ExportReport:
        return write_voc(out, dataset, items)


def _holds_voc_xml(folder: Path) -> bool:
    files = islice(walk_files(folder), _FILES_TO_WALK)
    xml_files = (path for path in files if path.suffix.lower() == ".xml")
    for path in islice(xml_files, _XML_FILES_TO_SNIFF):
        try:
            root = read_xml(path)
        except XmlProblem:
            continue
        if root.tag == ROOT_TAG and not is_prediction(root):
            return True
    return False


FORMAT = VocFormat()

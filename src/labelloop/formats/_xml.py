"""Reading untrusted XML safely, writing XML tidily (Pascal VOC, manifest detection files).

Every XML file an import reads comes from a user, so parsing goes through defusedxml with DTDs
forbidden outright: no annotation format labelloop reads needs one, and refusing the DOCTYPE
refuses entity expansion (billion laughs) and external entities (file or network reads) before
any of it happens. A refused or broken file raises ``XmlProblem`` with a message fit for the
import report; the caller reports it for that one file and goes on.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml
import defusedxml.ElementTree as SafeET

from .base import MAX_ANNOTATION_FILE_BYTES

__all__ = ["XmlProblem", "child_text", "read_xml", "write_xml"]


class XmlProblem(ValueError):
    """An XML file that cannot be read; the message says why, without the path."""


def read_xml(path: Path, *, max_bytes: int = MAX_ANNOTATION_FILE_BYTES) -> ET.Element:
    """Parse ``path`` and return its root element, or raise ``XmlProblem``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise XmlProblem(f"cannot read the file: {exc.strerror or exc}") from None
    if size > max_bytes:
        raise XmlProblem(
            f"the file is {size / 2**20:.0f} MiB, over the {max_bytes // 2**20} MiB limit"
        )
    try:
        tree = SafeET.parse(str(path), forbid_dtd=True)
    except defusedxml.DTDForbidden:
        raise XmlProblem(
            "refused: the file declares a DTD (<!DOCTYPE>), which can expand entities or read "
            "other files; annotation files never need one"
        ) from None
    except defusedxml.EntitiesForbidden:
        raise XmlProblem(
            "refused: the file declares XML entities (entity expansion attack)"
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise XmlProblem("refused: the file references an external resource") from None
    except defusedxml.DefusedXmlException as exc:
        raise XmlProblem(f"refused as unsafe XML: {exc}") from None
    except ET.ParseError as exc:
        raise XmlProblem(f"not well-formed XML: {exc}") from None
    except OSError as exc:
        raise XmlProblem(f"cannot read the file: {exc.strerror or exc}") from None
    return tree.getroot()


def child_text(element: ET.Element, tag: str) -> str | None:
    """The stripped text of the first ``tag`` child, None when the child or its text is absent."""
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    text = child.text.strip()
    return text or None


def write_xml(root: ET.Element, path: Path) -> None:
    """Write ``root`` indented, UTF-8, with an XML declaration."""
    ET.indent(root, space="\t")
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)

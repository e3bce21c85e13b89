"""Word .docx through python-docx: Title/Heading styles as headings, `paragraph N` locations.

The body XML is walked directly (through python-docx's objects for styles and tables): its
`Document.paragraphs` skips content controls (w:sdt) and tracked insertions (w:ins).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docbot.index.paragraphs import Location, Paragraph, row_text

_HEADING_STYLE = re.compile(r"^(heading \d|title)$", re.IGNORECASE)
BODY_TEXT_OUTLINE_LEVEL = 9  # w:outlineLvl 0-8 marks a heading; 9 is body text


def docx_paragraphs(path: Path) -> list[Paragraph]:
    """Paragraphs and table rows (with their header) of a .docx, at `paragraph N` (the body block)."""
    import docx
    from docx.enum.style import WD_STYLE_TYPE
    from docx.oxml.ns import qn
    from docx.table import Table

    document = docx.Document(str(path))
    body = document.element.body
    is_heading: dict[str | None, bool] = {}  # style id -> heading?; looking a style up walks all styles

    def heading_style(element: Any) -> bool:
        style_id = element.style
        if style_id not in is_heading:
            is_heading[style_id] = _is_heading_style(document.styles.get_by_id(style_id, WD_STYLE_TYPE.PARAGRAPH))
        return is_heading[style_id]

    out: list[Paragraph] = []
    heading = ""
    for number, element in enumerate(_blocks(body, qn), start=1):
        where = Location("paragraph", number, number)
        if element.tag == qn("w:tbl"):
            rows = [_unmerged(row.cells) for row in Table(element, document._body).rows]
            for values in rows[1:]:  # rows share their table's block number
                text = row_text(rows[0], list(values))
                if text:
                    out.append(Paragraph(text, heading, where))
            continue
        text = _text_of(element, qn)
        if not text:
            continue
        if heading_style(element) or _outline_level(element.pPr, qn) is not None:
            heading = text
        else:
            out.append(Paragraph(text, heading, where))
    return out


def _blocks(parent: Any, qn: Any) -> Iterator[Any]:
    """w:p and w:tbl in document order, descending into content controls (w:sdt)."""
    for child in parent.iterchildren():
        if child.tag == qn("w:sdt"):
            content = child.find(qn("w:sdtContent"))
            if content is not None:
                yield from _blocks(content, qn)
        elif child.tag in (qn("w:p"), qn("w:tbl")):
            yield child


def _text_of(element: Any, qn: Any) -> str:
    """Every w:t below: runs, hyperlinks, tracked insertions, fields, text boxes."""
    text, tab, br = qn("w:t"), qn("w:tab"), qn("w:br")
    return " ".join(
        "".join((node.text or "") if node.tag == text else " " for node in element.iter(text, tab, br)).split()
    )


def _unmerged(cells: list[Any]) -> list[str]:
    """python-docx repeats a merged cell once per grid column (the same w:tc); keep it once."""
    return ["" if i and cell._tc is cells[i - 1]._tc else " ".join(cell.text.split()) for i, cell in enumerate(cells)]


def _is_heading_style(style: Any) -> bool:
    """Title or Heading n, or a style carrying an outline level (custom heading styles inherit one)."""
    from docx.oxml.ns import qn

    if style is not None and _HEADING_STYLE.match(style.name or ""):
        return True
    while style is not None:
        if _outline_level(style.element.pPr, qn) is not None:
            return True
        style = style.base_style
    return False


def _outline_level(properties: Any, qn: Any) -> int | None:
    if properties is None:
        return None
    level = properties.find(qn("w:outlineLvl"))
    if level is None:
        return None
    value = int(level.get(qn("w:val")))
    return value if value < BODY_TEXT_OUTLINE_LEVEL else None

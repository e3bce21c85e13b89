"""HTML: paragraphs under their heading path ("Guide › Install"), numbered within that section."""

from __future__ import annotations

import re
from pathlib import Path

from docbot.index.formats.text import read_text
from docbot.index.paragraphs import Location, Paragraph, row_text

HEADING_SEPARATOR = " › "
# Marks a heading line in the flattened text; a private-use character no page shows as text.
_HEADING_MARK = "\ue000"
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_BLOCK_TAGS = ["p", "li", "pre", "blockquote", "tr", "dt", "dd", "div", "br"]


def html_file_paragraphs(path: Path) -> list[Paragraph]:
    """An .html file: its heading path and `paragraph N` (counted from 1 after each heading)."""
    return html_paragraphs(read_text(path))


def html_paragraphs(html: str | bytes, location_kind: str = "paragraph", number: int = 0) -> list[Paragraph]:
    """Paragraphs of an HTML page. With `number`, every paragraph gets `location_kind number`
    (an e-book's `chapter 3`) instead of its paragraph number in its section."""
    paragraphs: list[Paragraph] = []
    path: list[tuple[int, str]] = []  # (level, title) of the headings above
    count = 0
    for line in _flatten(html):
        if line.startswith(_HEADING_MARK):
            level, title = int(line[1]), line[3:]
            path = [(lvl, text) for lvl, text in path if lvl < level] + [(level, title)]
            count = 0
            continue
        text = " ".join(line.split())
        if text:
            count += 1
            where = number or count
            heading = HEADING_SEPARATOR.join(title for _, title in path)
            paragraphs.append(Paragraph(text, heading, Location(location_kind, where, where)))
    return paragraphs


def _flatten(html: str | bytes) -> list[str]:
    """The page's blocks of text, in order; each heading is one marked block of its own."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "svg", "head"]):
        tag.decompose()
    for table in reversed(soup.find_all("table")):  # innermost first: each row with its header
        rows = [[" ".join(c.get_text(" ").split()) for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")]
        rows = [row for row in rows if any(row)]
        if len(rows) > 1:
            lines = [row_text(rows[0], list(row)) for row in rows[1:]]
        else:
            lines = [" ".join(cell for row in rows for cell in row)]
        table.replace_with("\n\n" + "\n\n".join(lines) + "\n\n")
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            title = " ".join(tag.get_text(" ").split())
            tag.replace_with(f"\n\n{_HEADING_MARK}{level}{_HEADING_MARK}{title}\n\n" if title else "\n\n")
    for tag in soup.find_all(_BLOCK_TAGS):
        tag.insert_after("\n\n")
    blocks = _BLANK_LINE.split(soup.get_text().replace("\r", "\n"))
    return [block.strip() for block in blocks if block.strip()]

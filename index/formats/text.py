"""Plain text and Markdown: paragraphs split on blank lines, with their lines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from docbot.index.paragraphs import Paragraph, UnreadableFileError, cannot_read

BINARY_SNIFF_BYTES = 8192
# A plain-text line this short, without closing punctuation, followed by a paragraph: a heading.
TXT_HEADING_MAX_CHARS = 80
SENTENCE_END = ".!?\"'”)"


def text_file_paragraphs(path: Path) -> list[Paragraph]:
    """A .txt file (short title lines become headings) or Markdown ('#' or underlined headings)."""
    return list(text_paragraphs(read_text(path), markdown=path.suffix.lower() != ".txt"))


def read_text(path: Path) -> str:
    """The file decoded: UTF-8, else the legacy single-byte text it most likely is."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(cannot_read(exc)) from None
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise UnreadableFileError("looks binary")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Not UTF-8: legacy single-byte text is far likelier than garbage; keep what reads.
        return raw.decode("cp1252", errors="replace")


def text_paragraphs(text: str, markdown: bool, locate: bool = True) -> Iterator[Paragraph]:
    """Split on blank lines; Markdown headings (or short title lines in .txt) become headings."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    headings = _markdown_headings(text) if markdown else _title_lines(lines)
    heading = ""
    block: list[str] = []
    start = 0

    def flush() -> Iterator[Paragraph]:
        if any(block):
            paragraph = Paragraph.from_lines(block, heading, start + 1)
            yield paragraph if locate else Paragraph(paragraph.text, heading, None)
        block.clear()

    for number, line in enumerate(lines):
        stripped = line.strip()
        if number in headings:
            yield from flush()
            heading = headings[number]
            continue
        if not stripped:
            yield from flush()
            continue
        if not block:
            start = number
        block.append(stripped)
        if not markdown and stripped[-1] in SENTENCE_END:  # plain text: a line is often a paragraph
            yield from flush()
    yield from flush()


def _markdown_headings(text: str) -> dict[int, str]:
    """Line number (0-based) -> text of each top-level heading, '#' or underlined; code blocks hold none."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(text)
    headings: dict[int, str] = {}
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open" and opening.level == 0 and opening.map:
            for number in range(*opening.map):  # an underlined heading spans its underline too
                headings[number] = " ".join(inline.content.split())
    return headings


def _title_lines(lines: list[str]) -> dict[int, str]:
    """Line number -> title for the short plain-text lines that head a longer paragraph, in one pass."""
    titles: dict[int, str] = {}
    following = ""  # the next non-blank line below the one being looked at
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number].strip()
        if _looks_like_title(line, following):
            titles[number] = line
        if line:
            following = line
    return titles


def _looks_like_title(line: str, following: str) -> bool:
    if not line or len(line) > TXT_HEADING_MAX_CHARS or line[-1] in ".!?,;:\"'”)":
        return False
    return len(following) > 2 * len(line) and len(following) > TXT_HEADING_MAX_CHARS

"""Turn each corpus file into paragraphs that remember their heading and place."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".html", ".htm"}
BINARY_SNIFF_BYTES = 8192
MAX_FILE_BYTES = 64 * 1024 * 1024  # larger files are skipped with a warning
# A plain-text line this short, without closing punctuation, followed by a paragraph: a heading.
TXT_HEADING_MAX_CHARS = 80
SENTENCE_END = ".!?\"'”)"


class UnreadableFileError(Exception):
    """This one file cannot be indexed; the build skips it with a warning."""


@dataclass(frozen=True)
class Location:
    """Where a passage sits in its file: lines start-end, or pages start-end (1-based, inclusive)."""

    kind: str  # "line" or "page"
    start: int
    end: int

    def __str__(self) -> str:
        """As shown to a reader: "line 3", "lines 3-5", "page 2"."""
        if self.start == self.end:
            return f"{self.kind} {self.start}"
        return f"{self.kind}s {self.start}-{self.end}"

    def to(self, last: Location) -> Location:
        """The span from the start of this location to the end of `last`."""
        return Location(self.kind, self.start, last.end)


@dataclass(frozen=True)
class Paragraph:
    """A block of text with the nearest heading above it and where it sits in its file."""

    text: str
    heading: str
    location: Location | None  # None where the file has no lines or pages to point at (HTML)


def cannot_read(exc: OSError) -> str:
    """Why a file the system would not read is skipped, in one line."""
    return f"cannot read: {exc.strerror or exc}"


def file_sha256(path: Path) -> str:
    """Content hash, streamed so large files never sit in memory."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def read_paragraphs(path: Path) -> list[Paragraph]:
    """Paragraphs of one file, by its type. Raises UnreadableFileError with the reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(cannot_read(exc)) from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return _pdf_paragraphs(path)
    text = _read_text(path)
    if suffix in {".html", ".htm"}:
        return list(_text_paragraphs(_html_to_text(text), markdown=True, locate=False))
    return list(_text_paragraphs(text, markdown=suffix != ".txt"))


def _read_text(path: Path) -> str:
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


def _text_paragraphs(text: str, markdown: bool, locate: bool = True) -> Iterator[Paragraph]:
    """Split on blank lines; Markdown headings (or short title lines in .txt) become headings."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    headings = _markdown_headings(text) if markdown else _title_lines(lines)
    heading = ""
    block: list[str] = []
    start = 0

    def flush(end: int) -> Iterator[Paragraph]:
        body = " ".join(line.strip() for line in block).strip()
        if body:
            yield Paragraph(body, heading, Location("line", start + 1, end) if locate else None)
        block.clear()

    for number, line in enumerate(lines):
        stripped = line.strip()
        if number in headings:
            yield from flush(number)
            heading = headings[number]
            continue
        if not stripped:
            yield from flush(number)
            continue
        if not block:
            start = number
        block.append(stripped)
        if not markdown and stripped[-1] in SENTENCE_END:  # plain text: a line is often a paragraph
            yield from flush(number + 1)
    yield from flush(len(lines))


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


def _html_to_text(html: str) -> str:
    """HTML to markdown-ish text: headings become '#' lines, blocks are separated."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "svg"]):
        tag.decompose()
    for level in range(1, 7):
        for tag in soup.find_all(f"h{level}"):
            title = " ".join(tag.get_text(" ").split())
            tag.replace_with(f"\n\n{'#' * level} {title}\n\n")
    for tag in soup.find_all(["p", "li", "pre", "blockquote", "tr", "dt", "dd", "div", "br"]):
        tag.insert_after("\n\n")
    return soup.get_text()


def _pdf_paragraphs(path: Path) -> list[Paragraph]:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    paragraphs: list[Paragraph] = []
    try:
        reader = PdfReader(path)
        for page_number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            where = Location("page", page_number, page_number)
            for paragraph in _text_paragraphs(text, markdown=True, locate=False):
                paragraphs.append(Paragraph(paragraph.text, paragraph.heading, where))
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFileError(f"corrupted or unreadable PDF ({exc})") from None
    return paragraphs

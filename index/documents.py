"""Find the corpus files and turn each into paragraphs that remember their heading and place."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = {".txt", ".md", ".markdown", ".pdf", ".html", ".htm"}
BINARY_SNIFF_BYTES = 8192
MAX_FILE_BYTES = 64 * 1024 * 1024  # larger files are skipped with a warning
# A plain-text line this short, without closing punctuation, followed by a paragraph: a heading.
TXT_HEADING_MAX_CHARS = 80
SENTENCE_END = ".!?\"'”)"
_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


class UnreadableFileError(Exception):
    """This one file cannot be indexed; the build skips it with a warning."""


@dataclass(frozen=True)
class Paragraph:
    """A block of text with the nearest heading above it and where it sits in its file."""

    text: str
    heading: str
    location: str  # "lines 3-5" or "page 2"


@dataclass(frozen=True)
class CorpusFile:
    path: Path  # absolute
    relpath: str  # relative to the corpus, with forward slashes
    size: int
    mtime_ns: int


def find_corpus_files(corpus: Path) -> list[CorpusFile]:
    """Supported files below `corpus`, sorted; hidden entries and outside symlinks left out."""
    root = corpus.resolve()
    found: list[CorpusFile] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                continue
            try:
                stat = path.stat()
            except OSError:
                continue  # vanished or dangling link
            if not path.is_file():
                continue
            relpath = path.relative_to(root).as_posix()
            found.append(CorpusFile(path, relpath, stat.st_size, stat.st_mtime_ns))
    return found


def file_sha256(path: Path) -> str:
    """Content hash, streamed so large files never sit in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_paragraphs(path: Path) -> list[Paragraph]:
    """Paragraphs of one file, by its type. Raises UnreadableFileError with the reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFileError(f"cannot read: {exc.strerror or exc}") from None
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
        raise UnreadableFileError(f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw[:BINARY_SNIFF_BYTES]:
        raise UnreadableFileError("looks binary")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Not UTF-8: legacy single-byte text is far likelier than garbage; keep what reads.
        return raw.decode("cp1252", errors="replace")


def _text_paragraphs(text: str, markdown: bool, locate: bool = True) -> Iterator[Paragraph]:
    """Split on blank lines; markdown '#' lines (or short title lines in .txt) become headings."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    heading = ""
    block: list[str] = []
    start = 0

    def flush(end: int) -> Iterator[Paragraph]:
        body = " ".join(line.strip() for line in block).strip()
        if body:
            where = f"line {start + 1}" if start + 1 == end else f"lines {start + 1}-{end}"
            yield Paragraph(body, heading, where if locate else "")
        block.clear()

    for number, line in enumerate(lines):
        stripped = line.strip()
        md = _MD_HEADING.match(line) if markdown else None
        if md or (not markdown and _looks_like_title(stripped, lines, number)):
            yield from flush(number)
            heading = (md.group(2) if md else stripped).strip()
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


def _looks_like_title(line: str, lines: list[str], number: int) -> bool:
    if not line or len(line) > TXT_HEADING_MAX_CHARS or line[-1] in ".!?,;:\"'”)":
        return False
    following = next((nxt.strip() for nxt in lines[number + 1 :] if nxt.strip()), "")
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
            for paragraph in _text_paragraphs(text, markdown=True, locate=False):
                paragraphs.append(Paragraph(paragraph.text, paragraph.heading, f"page {page_number}"))
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFileError(f"corrupted or unreadable PDF ({exc})") from None
    return paragraphs

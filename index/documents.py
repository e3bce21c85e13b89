"""Turn each corpus file into paragraphs that remember their heading and place, by its type.

Each format has its reader in formats/; a reader that fails on a file (a corrupt zip, bad XML)
makes that one file an UnreadableFileError, a warning naming it, and the build goes on.
"""

from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from pathlib import Path

from docbot.index.formats.epub import epub_paragraphs
from docbot.index.formats.html import html_file_paragraphs
from docbot.index.formats.pdf import pdf_paragraphs
from docbot.index.formats.rst import rst_paragraphs
from docbot.index.formats.slides import pptx_paragraphs
from docbot.index.formats.spreadsheets import csv_paragraphs, xlsx_paragraphs
from docbot.index.formats.text import text_file_paragraphs
from docbot.index.formats.word import docx_paragraphs
from docbot.index.paragraphs import Paragraph, UnreadableFileError, cannot_read

READERS: dict[str, Callable[[Path], list[Paragraph]]] = {
    ".txt": text_file_paragraphs,
    ".md": text_file_paragraphs,
    ".markdown": text_file_paragraphs,
    ".rst": rst_paragraphs,
    ".pdf": pdf_paragraphs,
    ".html": html_file_paragraphs,
    ".htm": html_file_paragraphs,
    ".docx": docx_paragraphs,
    ".pptx": pptx_paragraphs,
    ".xlsx": xlsx_paragraphs,
    ".csv": csv_paragraphs,
    ".epub": epub_paragraphs,
}
SUPPORTED_SUFFIXES = frozenset(READERS)
ZIP_FORMATS = {".docx", ".pptx", ".xlsx", ".epub"}
MAX_FILE_BYTES = 64 * 1024 * 1024  # larger files are skipped with a warning
# A zip that would inflate past this is refused before any converter unpacks it (a zip bomb).
MAX_UNZIPPED_BYTES = 512 * 1024 * 1024


def supported_formats() -> str:
    """The suffixes docbot reads, for messages: ".txt, .md, ... or .epub"."""
    names = [suffix for suffix in READERS if suffix not in {".markdown", ".htm"}]
    return ", ".join(names[:-1]) + " or " + names[-1]


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
    try:
        if suffix in ZIP_FORMATS:
            _check_unzipped_size(path)
        return READERS[suffix](path)
    except UnreadableFileError:
        raise
    except OSError as exc:
        raise UnreadableFileError(cannot_read(exc)) from None
    # The converters raise many unrelated classes on a broken file (measured: BadZipFile,
    # zlib.error, KeyError, lxml's XMLSyntaxError, ParseError, python-docx's and python-pptx's
    # PackageNotFoundError, CalamineError, csv.Error, ValueError); any of them means this one
    # file cannot be read, which the build reports as a warning naming the file and the error.
    except Exception as exc:
        raise UnreadableFileError(f"unreadable {suffix[1:]} file ({type(exc).__name__}: {exc})") from None


def _check_unzipped_size(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
            raise UnreadableFileError(f"unpacks to more than {MAX_UNZIPPED_BYTES >> 20} MB")

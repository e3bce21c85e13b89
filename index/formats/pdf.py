"""PDF: the text pypdf extracts, page by page."""

from __future__ import annotations

from pathlib import Path

from docbot.index.formats.text import text_paragraphs
from docbot.index.paragraphs import Location, Paragraph, UnreadableFileError


def pdf_paragraphs(path: Path) -> list[Paragraph]:
    """Paragraphs of a PDF, each at `page N`; Markdown-like heading lines become headings."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    paragraphs: list[Paragraph] = []
    try:
        reader = PdfReader(path)
        for page_number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            where = Location("page", page_number, page_number)
            for paragraph in text_paragraphs(text, markdown=True, locate=False):
                paragraphs.append(Paragraph(paragraph.text, paragraph.heading, where))
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise UnreadableFileError(f"corrupted or unreadable PDF ({exc})") from None
    return paragraphs

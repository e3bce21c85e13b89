"""EPUB e-books: chapters in reading order, read with zipfile and the HTML reader.

An EPUB is a zip: META-INF/container.xml names the package file (OPF), whose spine lists the
chapters. Twenty lines of the standard library do what EbookLib (AGPL) would.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path

from docbot.index.formats.html import HEADING_SEPARATOR, html_paragraphs
from docbot.index.paragraphs import Paragraph

_NS = {"c": "urn:oasis:names:tc:opendocument:xmlns:container", "o": "http://www.idpf.org/2007/opf"}
CHAPTER_TYPES = {"application/xhtml+xml", "text/html"}


def epub_paragraphs(path: Path) -> list[Paragraph]:
    """Each chapter's paragraphs at `chapter N` (spine order, the navigation page left out),
    under the chapter's headings ("Chapter 2 › Prices")."""
    from xml.etree import ElementTree

    out: list[Paragraph] = []
    with zipfile.ZipFile(path) as book:
        rootfile = ElementTree.fromstring(book.read("META-INF/container.xml")).find(".//c:rootfile", _NS)
        package_path = rootfile.get("full-path") if rootfile is not None else None
        if not package_path:
            raise ValueError("META-INF/container.xml names no package file")
        package = ElementTree.fromstring(book.read(package_path))
        base = posixpath.dirname(package_path)
        manifest = {item.get("id"): item for item in package.iterfind(".//o:manifest/o:item", _NS)}
        chapter = 0
        for reference in package.iterfind(".//o:spine/o:itemref", _NS):
            item = manifest.get(reference.get("idref"))
            if item is None or item.get("media-type") not in CHAPTER_TYPES:
                continue
            if "nav" in (item.get("properties") or "").split():
                continue
            chapter += 1
            page = book.read(posixpath.normpath(posixpath.join(base, item.get("href") or "")))
            out.extend(_chapter(page, chapter))
    return out


def _chapter(page: bytes, chapter: int) -> list[Paragraph]:
    paragraphs = html_paragraphs(page, location_kind="chapter", number=chapter)
    # Text above the chapter's first heading belongs under that heading, not under none.
    first = next((p.heading.split(HEADING_SEPARATOR)[0] for p in paragraphs if p.heading), "")
    return [p if p.heading else Paragraph(p.text, first, p.location) for p in paragraphs]

"""Small documents of each format, written by the formats' own writers (an EPUB by zipfile)."""

from __future__ import annotations

import zipfile
from pathlib import Path

BIRDS = [(f"Bird{n:02d}", f"{10 + n}.{n:02d}", n * 7) for n in range(1, 41)]  # Product, Price (EUR), Stock
BIRDS[2] = ("Kestrel", "19.99", 230)  # spreadsheet row 4

RST = """\
=============
Widget Manual
=============

This manual covers the widgets.

Pricing
=======

The Falcon widget costs 42.50 euros
and ships from Zürich.

.. frobnicate:: heron

   Frobnicated text about herons stays searchable.
"""
RST_FACT_LINES = "lines 10-11"


def write_rst(path: Path) -> None:
    path.write_text(RST, encoding="utf-8")


def write_docx(path: Path) -> None:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    document = docx.Document()
    document.add_paragraph("Widget Manual", style="Title")  # paragraph 1
    document.add_paragraph("This manual covers the widgets.")  # 2
    document.add_heading("Pricing", level=1)  # 3
    document.add_paragraph("The Falcon widget costs 42.50 euros.")  # 4
    table = document.add_table(rows=3, cols=2)  # 5
    rows = [("Product", "Price (EUR)"), ("Falcon", "42.50"), ("Kestrel", "19.99")]
    for row, values in zip(table.rows, rows, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    custom = document.styles.add_style("Chapter Heading", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Heading 1"]
    document.add_paragraph("Warranty", style="Chapter Heading")  # 6
    document.add_paragraph("The warranty lasts 24 months.")  # 7
    document.save(str(path))


def write_pptx(path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = "Quarterly Review"
    title_slide.placeholders[1].text = "Third quarter"
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    slide.shapes.title.text = "Revenue"
    slide.placeholders[1].text = "Revenue grew 12% to 3.4 million euros"
    slide.notes_slide.notes_text_frame.text = "The Oslo office closes on Fridays at 15:00."
    deck.save(str(path))


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Prices"
    sheet.append(["Product", "Price (EUR)", "Stock"])
    for name, price, stock in BIRDS:
        sheet.append([name, float(price), stock])
    hidden = workbook.create_sheet("Scratch")
    hidden.append(["Note", "Value"])
    hidden.append(["hidden-sheet secret", "x"])
    hidden.sheet_state = "hidden"
    workbook.save(str(path))


def write_csv(path: Path) -> None:
    rows = ["Product;Price (EUR);Notes", "Café crème;3,50;served hot", "Kestrel;19,99;ships from Oslo"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_epub(path: Path) -> None:
    chapters = {
        "ch1.xhtml": "<h1>Chapter 1: Getting Started</h1><p>Install the café driver first.</p>",
        "ch2.xhtml": "<h1>Chapter 2: Prices</h1><h2>Price table</h2>"
        "<table><tr><th>Product</th><th>Price</th></tr><tr><td>Kestrel</td><td>19.99</td></tr></table>",
    }
    container = (
        '<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    items = '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>' + "".join(
        f'<item id="{name[:3]}" href="{name}" media-type="application/xhtml+xml"/>' for name in chapters
    )
    spine = '<itemref idref="nav"/>' + "".join(f'<itemref idref="{name[:3]}"/>' for name in chapters)
    package = (
        '<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0">'
        f"<metadata/><manifest>{items}</manifest><spine>{spine}</spine></package>"
    )
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
        book.writestr("META-INF/container.xml", container)
        book.writestr("OEBPS/content.opf", package)
        book.writestr("OEBPS/nav.xhtml", _xhtml("Contents", "<h1>Contents</h1><p>Table of contents</p>"))
        for name, body in chapters.items():
            book.writestr(f"OEBPS/{name}", _xhtml("The Widget Book", body))


def _xhtml(title: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml">'
        f"<head><title>{title}</title></head><body>{body}</body></html>"
    )


WRITERS = {
    "manual.rst": write_rst,
    "manual.docx": write_docx,
    "review.pptx": write_pptx,
    "prices.xlsx": write_xlsx,
    "menu.csv": write_csv,
    "book.epub": write_epub,
}


def write_all(folder: Path) -> Path:
    """One document of each new format in `folder`, named as in WRITERS."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, write in WRITERS.items():
        write(folder / name)
    return folder

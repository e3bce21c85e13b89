"""Spreadsheets: .xlsx through python-calamine, .csv through the csv module.

Every row is rendered with its header ("Product: Falcon; Price: 42.5") so a question about a cell
meets the column's name in the same passage. The sheet name is the heading; the location is the
row number a spreadsheet shows (`row N`).
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Sequence
from pathlib import Path

from docbot.index.formats.text import read_text
from docbot.index.paragraphs import Location, Paragraph, cell_text, row_text

# The header is the first of the top rows filled at least half as wide as the widest of them,
# so a merged title row above it stays plain text.
HEADER_LOOKAHEAD_ROWS = 20
CSV_DELIMITERS = ",;\t|"


def xlsx_paragraphs(path: Path) -> list[Paragraph]:
    """The rows of each visible worksheet (hidden sheets hold scaffolding, not content)."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    workbook = CalamineWorkbook.from_path(str(path))
    if not workbook.sheets_metadata:  # calamine opens a zip without xl/workbook.xml without complaint
        raise ValueError("no worksheets in the workbook")
    out: list[Paragraph] = []
    for sheet in workbook.sheets_metadata:
        if sheet.visible == SheetVisibleEnum.Visible and sheet.typ == SheetTypeEnum.WorkSheet:
            out.extend(sheet_rows(sheet.name, workbook.get_sheet_by_name(sheet.name).iter_rows()))
    return out


def csv_paragraphs(path: Path) -> list[Paragraph]:
    """The rows of a .csv file; the delimiter is the commonest of , ; tab | in the header line."""
    text = read_text(path)
    # csv.Sniffer guesses "," for "Product;Price\nCafé;3,50": the header line decides instead.
    first_line = text.split("\n", 1)[0]
    delimiter = max(CSV_DELIMITERS, key=first_line.count) if any(d in first_line for d in CSV_DELIMITERS) else ","
    return sheet_rows("", csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def sheet_rows(sheet: str, rows: Iterable[Sequence[object]]) -> list[Paragraph]:
    """Rows below the header rendered with it; rows above it (titles) as plain text."""
    numbered = ((n, [cell_text(value) for value in values]) for n, values in enumerate(rows, start=1))
    filled_rows = ((n, values) for n, values in numbered if any(values))
    top = list(itertools.islice(filled_rows, HEADER_LOOKAHEAD_ROWS))
    if not top:
        return []
    widths = [sum(1 for value in values if value) for _, values in top]
    at = next((i for i, width in enumerate(widths) if width >= max(2, max(widths) / 2)), len(top))

    def row(number: int, text: str) -> Paragraph:
        return Paragraph(text, sheet, Location("row", number, number))

    out = [row(n, " ".join(value for value in values if value)) for n, values in top[:at]]
    if at < len(top):
        header = top[at][1]
        out.extend(row(n, row_text(header, list(values))) for n, values in itertools.chain(top[at + 1 :], filled_rows))
    return out

"""What every reader hands the chunker: paragraphs that remember their heading and place."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


class UnreadableFileError(Exception):
    """This one file cannot be indexed; the build skips it with a warning."""


@dataclass(frozen=True)
class Location:
    """Where a passage sits in its file (1-based, inclusive): lines, a page, a slide, rows of a sheet..."""

    kind: str  # "line", "page", "paragraph", "row", "slide" or "chapter"
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
    location: Location | None  # None where the file has nothing to point at
    # Where each source line after the first begins in `text`, so a part of a long paragraph
    # can be given its own lines (see `locate`); empty for a paragraph of one line or no lines.
    line_starts: tuple[int, ...] = ()

    @classmethod
    def from_lines(cls, lines: list[str], heading: str, first_line: int) -> Paragraph:
        """The lines (first at line `first_line`) joined by spaces, remembering where each began."""
        parts = [line.strip() for line in lines]
        starts: list[int] = []
        offset = 0
        for part in parts[:-1]:
            offset += len(part) + 1
            starts.append(offset)
        last = first_line + len(parts) - 1
        return cls(" ".join(parts), heading, Location("line", first_line, last), tuple(starts))

    def locate(self, start: int, end: int) -> Location | None:
        """The location of text[start:end]: its own lines when the paragraph spans several."""
        if self.location is None or not self.line_starts:
            return self.location
        first = self.location.start + bisect_right(self.line_starts, start)
        last = self.location.start + bisect_right(self.line_starts, max(start, end - 1))
        return Location(self.location.kind, first, last)


def cannot_read(exc: OSError) -> str:
    """Why a file the system would not read is skipped, in one line."""
    return f"cannot read: {exc.strerror or exc}"


def row_text(header: list[str], values: list[object]) -> str:
    """A table row with its column names, so a question about a cell meets both:
    "Product: Falcon; Price (EUR): 42.5." Empty cells are left out. The full stop makes each row
    a sentence of its own, so an answer quotes the one row that holds it."""
    parts = []
    for i, value in enumerate(values):
        text = cell_text(value)
        if text:
            name = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            parts.append(f"{name}: {text}")
    row = "; ".join(parts)
    return row + "." if row and row[-1] not in ".!?" else row


def cell_text(value: object) -> str:
    """A cell as a reader would write it: 3.0 -> "3", a date -> "2024-07-01"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    isoformat = getattr(value, "isoformat", None)  # date, datetime, time
    if callable(isoformat):
        return str(isoformat()).removesuffix("T00:00:00")
    return " ".join(str(value).split())

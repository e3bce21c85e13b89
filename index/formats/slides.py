"""PowerPoint .pptx through python-pptx: the slide title as heading, `slide N`, speaker notes kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from docbot.index.paragraphs import Location, Paragraph, row_text


def pptx_paragraphs(path: Path) -> list[Paragraph]:
    """Each slide's text (bullets, tables row by row, grouped shapes, notes) under its title."""
    from pptx import Presentation

    out: list[Paragraph] = []
    for number, slide in enumerate(Presentation(str(path)).slides, start=1):
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text_frame.text.split()) if title_shape is not None else ""
        texts = list(_shape_texts(slide.shapes, title_shape))
        if slide.has_notes_slide:  # speaker notes often hold the facts a slide only hints at
            notes = slide.notes_slide.notes_text_frame
            texts.append(" ".join(notes.text.split()) if notes is not None else "")
        texts = [text for text in texts if text] or ([title] if title else [])  # a title-only slide
        where = Location("slide", number, number)
        out.extend(Paragraph(text, title, where) for text in texts)
    return out


def _shape_texts(shapes: Iterable[Any], title_shape: Any) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shape_texts(shape.shapes, title_shape)
        elif getattr(shape, "has_table", False):
            rows = [[" ".join(cell.text.split()) for cell in row.cells] for row in shape.table.rows]
            for values in rows[1:]:
                yield row_text(rows[0], list(values))
        elif shape.has_text_frame and (title_shape is None or shape.shape_id != title_shape.shape_id):
            for paragraph in shape.text_frame.paragraphs:
                text = " ".join("".join(run.text for run in paragraph.runs).split())
                if text:
                    yield ("  " * paragraph.level + "- " if paragraph.level else "") + text

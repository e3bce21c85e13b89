"""Cut paragraphs into passages small enough for the embedder, on sentence boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from docbot.index.paragraphs import Location, Paragraph

# all-MiniLM-L6-v2 reads 256 word pieces; English averages ~4.5 characters a piece, so
# ~1000 characters is the hard ceiling. The default stays well under it.
HARD_MAX_CHARS = 1000
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"')\]”’]*\s+(?=[\"'(\[“‘]?[A-Z0-9])")


@dataclass(frozen=True)
class ChunkingParams:
    """How documents are cut (settings chunk_chars and chunk_overlap_sentences); kept in the manifest."""

    max_chars: int
    overlap_sentences: int  # sentences repeated when a long paragraph is split

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Chunk:
    """One searchable passage of a document."""

    doc: str  # path relative to the corpus
    chunk: int  # ordinal within the document, from 0
    heading: str
    location: Location | None
    text: str

    def embedding_text(self) -> str:
        """What the embedder and BM25 see: the heading gives a passage its topic."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    def to_json(self) -> dict[str, Any]:
        """The chunk as one line of the store's chunks.jsonl."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Chunk:
        """A chunk read back from chunks.jsonl."""
        location = data["location"]
        return cls(**{**data, "location": Location(**location) if location else None})


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a heuristic that respects common abbreviations poorly)."""
    return [text[start:end] for start, end in _sentence_spans(text)]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in `text`, surrounding whitespace left out."""
    spans = []
    start = 0
    for separator in [*_SENTENCE_SPLIT.finditer(text), None]:
        end = separator.start() if separator else len(text)
        sentence = text[start:end]
        stripped = sentence.strip()
        if stripped:
            first = start + len(sentence) - len(sentence.lstrip())
            spans.append((first, first + len(stripped)))
        if separator:
            start = separator.end()
    return spans


def chunk_paragraphs(doc: str, paragraphs: Iterable[Paragraph], params: ChunkingParams) -> list[Chunk]:
    """Pack consecutive paragraphs under one heading into chunks of at most max_chars."""
    max_chars = min(params.max_chars, HARD_MAX_CHARS)
    chunks: list[Chunk] = []
    pieces: list[str] = []
    locations: list[Location] = []
    heading = ""

    def flush() -> None:
        if pieces:
            text = " ".join(pieces)
            span = locations[0].to(locations[-1]) if locations else None
            chunks.append(Chunk(doc, len(chunks), heading, span, text))
        pieces.clear()
        locations.clear()

    for paragraph in paragraphs:
        if paragraph.heading != heading:
            flush()
            heading = paragraph.heading
        for part, start, end in _fit(paragraph.text, max_chars, params.overlap_sentences):
            if pieces and len(" ".join(pieces)) + 1 + len(part) > max_chars:
                flush()
            pieces.append(part)
            location = paragraph.locate(start, end)  # a part of a long paragraph: its own lines
            if location:
                locations.append(location)
    flush()
    return chunks


def _fit(text: str, max_chars: int, overlap: int) -> list[tuple[str, int, int]]:
    """A paragraph as one piece, or split into sentence groups that each fit max_chars;
    each piece with where it starts and ends in the paragraph."""
    if len(text) <= max_chars:
        return [(text, 0, len(text))]
    sentences: list[tuple[int, int]] = []
    for start, end in _sentence_spans(text):
        sentences.extend((start + a, start + b) for a, b in _hard_wrap(text[start:end], max_chars))
    groups: list[tuple[str, int, int]] = []
    current: list[tuple[int, int]] = []

    def joined(spans: list[tuple[int, int]]) -> str:
        return " ".join(text[a:b] for a, b in spans)

    for sentence in sentences:
        if current and len(joined([*current, sentence])) > max_chars:
            groups.append((joined(current), current[0][0], current[-1][1]))
            kept = current[-overlap:] if overlap else []
            current = kept if len(joined([*kept, sentence])) <= max_chars else []
        current.append(sentence)
    if current:
        groups.append((joined(current), current[0][0], current[-1][1]))
    return groups


def _hard_wrap(sentence: str, max_chars: int) -> list[tuple[int, int]]:
    """(start, end) of the pieces of a sentence longer than max_chars, cut at spaces (or anywhere,
    for unbroken text); the whole sentence when it fits."""
    out: list[tuple[int, int]] = []
    start = 0  # a cursor, not slices of the rest: a huge unpunctuated paragraph stays linear
    while len(sentence) - start > max_chars:
        cut = sentence.rfind(" ", start, start + max_chars)
        cut = cut if cut - start > max_chars // 2 else start + max_chars
        piece = sentence[start:cut]
        stripped = piece.strip()
        first = start + len(piece) - len(piece.lstrip())
        out.append((first, first + len(stripped)))
        start = cut
        while start < len(sentence) and sentence[start].isspace():
            start += 1
    if start < len(sentence):
        out.append((start, len(sentence)))
    return out

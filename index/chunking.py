"""Cut paragraphs into passages small enough for the embedder, on sentence boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from docbot.index.documents import Location, Paragraph

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
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


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
        for part in _fit(paragraph.text, max_chars, params.overlap_sentences):
            if pieces and len(" ".join(pieces)) + 1 + len(part) > max_chars:
                flush()
            pieces.append(part)
            if paragraph.location:
                locations.append(paragraph.location)
    flush()
    return chunks


def _fit(text: str, max_chars: int, overlap: int) -> list[str]:
    """A paragraph as one piece, or split into sentence groups that each fit max_chars."""
    if len(text) <= max_chars:
        return [text]
    sentences: list[str] = []
    for sentence in split_sentences(text):
        sentences.extend(_hard_wrap(sentence, max_chars))
    groups: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and len(" ".join([*current, sentence])) > max_chars:
            groups.append(" ".join(current))
            kept = current[-overlap:] if overlap else []
            current = kept if len(" ".join([*kept, sentence])) <= max_chars else []
        current.append(sentence)
    if current:
        groups.append(" ".join(current))
    return groups


def _hard_wrap(sentence: str, max_chars: int) -> list[str]:
    """A sentence longer than max_chars, cut at spaces (or anywhere, for unbroken text)."""
    out: list[str] = []
    start = 0  # a cursor, not slices of the rest: a huge unpunctuated paragraph stays linear
    while len(sentence) - start > max_chars:
        cut = sentence.rfind(" ", start, start + max_chars)
        cut = cut if cut - start > max_chars // 2 else start + max_chars
        out.append(sentence[start:cut].strip())
        start = cut
        while start < len(sentence) and sentence[start].isspace():
            start += 1
    if start < len(sentence):
        out.append(sentence[start:])
    return out

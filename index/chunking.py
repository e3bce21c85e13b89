"""Cut paragraphs into passages small enough for the embedder, on sentence boundaries."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from docbot.index.documents import Paragraph

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
    location: str
    text: str

    def embedding_text(self) -> str:
        """What the embedder and BM25 see: the heading gives a passage its topic."""
        return f"{self.heading}\n{self.text}" if self.heading else self.text


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a heuristic that respects common abbreviations poorly)."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text) if s.strip()]


def chunk_paragraphs(doc: str, paragraphs: Iterable[Paragraph], params: ChunkingParams) -> list[Chunk]:
    """Pack consecutive paragraphs under one heading into chunks of at most max_chars."""
    max_chars = min(params.max_chars, HARD_MAX_CHARS)
    chunks: list[Chunk] = []
    pieces: list[str] = []
    locations: list[str] = []
    heading = ""

    def flush() -> None:
        if pieces:
            text = " ".join(pieces)
            chunks.append(Chunk(doc, len(chunks), heading, _span(locations), text))
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
    while len(sentence) > max_chars:
        cut = sentence.rfind(" ", 0, max_chars)
        cut = cut if cut > max_chars // 2 else max_chars
        out.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    if sentence:
        out.append(sentence)
    return out


def _span(locations: list[str]) -> str:
    """Merge 'lines 3-5' and 'lines 7-9' into 'lines 3-9'; pages likewise."""
    found = [loc for loc in locations if loc]
    if not found:
        return ""
    first, last = found[0], found[-1]
    if first == last:
        return first
    kind = first.split(" ")[0].rstrip("s")
    start = first.split(" ")[-1].split("-")[0]
    end = last.split(" ")[-1].split("-")[-1]
    return f"{kind}s {start}-{end}"

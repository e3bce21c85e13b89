"""Find the passages that answer a question: dense vectors and BM25 keywords, fused by rank."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from docbot.index.chunking import Chunk
from docbot.index.embedder import Embedder
from docbot.index.errors import IndexMismatchError
from docbot.index.keywords import keyword_scores
from docbot.index.store import StoredIndex

CANDIDATES = 40  # taken from each ranking before fusion
RRF_K = 60  # reciprocal rank fusion constant (Cormack et al. 2009)
DENSE_WEIGHT = 1.0
KEYWORD_WEIGHT = 1.0


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its rank and how well it matches the question."""

    chunk: Chunk
    rank: int  # 1 = best
    score: float  # cosine similarity of question and passage, -1..1
    keyword_score: float  # BM25 score, 0 if no query word occurs

    @property
    def doc(self) -> str:
        return self.chunk.doc

    @property
    def text(self) -> str:
        return self.chunk.text

    def citation(self) -> str:
        """Where the passage is, for a sources list: file, heading and lines or page."""
        parts = [self.chunk.doc]
        if self.chunk.heading:
            parts.append(self.chunk.heading)
        if self.chunk.location:
            parts.append(str(self.chunk.location))
        return " › ".join(parts)

    def to_json(self, number: int) -> dict[str, Any]:
        """The passage as `--json` output shows it; `number` is its [n] in the list it is shown in."""
        return {
            "number": number,
            "rank": self.rank,
            "doc": self.doc,
            "chunk": self.chunk.chunk,
            "location": str(self.chunk.location or ""),
            "heading": self.chunk.heading,
            "score": round(self.score, 4),
            "text": self.text,
        }


class Retriever:
    """Searches one loaded index with the embedder that built it."""

    def __init__(self, index: StoredIndex, embedder: Embedder) -> None:
        if index.manifest.embedder != embedder.name:
            raise IndexMismatchError(
                f"the index was built with embedder {index.manifest.embedder!r} but "
                f"{embedder.name!r} is configured: run `docbot index --rebuild`"
            )
        self.index = index
        self.embedder = embedder

    def search(self, question: str, k: int) -> list[Passage]:
        """The k best passages for `question`, best first."""
        if not self.index.chunks:
            return []
        n = min(CANDIDATES, len(self.index.chunks))
        query = self.embedder.embed_query(question)
        dense = self._dense(query, n)
        keyword_scores = self._keyword_scores(question)
        keyword = [int(i) for i in np.argsort(-keyword_scores)[:n] if keyword_scores[i] > 0]
        fused: dict[int, float] = {}
        for weight, ranking in ((DENSE_WEIGHT, dense), (KEYWORD_WEIGHT, keyword)):
            for rank, row in enumerate(ranking):
                fused[row] = fused.get(row, 0.0) + weight / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda row: -fused[row])[:k]
        similarities = self.index.embeddings[best] @ query
        return [
            Passage(self.index.chunks[row], rank, float(similarity), float(keyword_scores[row]))
            for rank, (row, similarity) in enumerate(zip(best, similarities, strict=True), start=1)
        ]

    def _dense(self, query: np.ndarray, n: int) -> list[int]:
        return self.index.nearest(query, n)

    def _keyword_scores(self, question: str) -> np.ndarray:
        return keyword_scores(self.index.keywords(), question, len(self.index.chunks))

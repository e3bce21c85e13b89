"""The answer engine: question in, cited answer out. Knows nothing of terminals or Discord."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.errors import EmptyQuestionError
from bot.llm import LanguageModel
from bot.prompt import NOT_FOUND_TEXT, Exchange, build_messages, is_refusal, pack_passages
from index.search import Passage, Retriever

MAX_QUESTION_CHARS = 1000  # longer questions are cut: the prompt size stays bounded
_CITATION = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class EngineOptions:
    top_k: int = 5
    prompt_chars: int = 1400
    max_answer_tokens: int = 96
    temperature: float = 0.0


@dataclass
class Answer:
    """A finished answer: text with [n] citations that point into `sources` (1-based)."""

    question: str
    text: str
    answered: bool
    sources: list[Passage]
    cited: list[int] = field(default_factory=list)  # source numbers the text cites
    timings: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The machine-readable shape of `docbot ask --json`."""
        return {
            "question": self.question,
            "answer": self.text,
            "answered": self.answered,
            "sources": [
                {
                    "number": n,
                    "doc": p.doc,
                    "chunk": p.chunk.chunk,
                    "location": p.chunk.location,
                    "heading": p.chunk.heading,
                    "score": round(p.score, 4),
                    "text": p.text,
                }
                for n, p in enumerate(self.sources, start=1)
            ],
            "timings": {name: round(ms, 1) for name, ms in self.timings.items()},
        }


class Engine:
    """Retrieves passages, prompts the model with them and checks the reply cites them."""

    def __init__(self, retriever: Retriever, llm: LanguageModel, options: EngineOptions | None = None) -> None:
        self.retriever = retriever
        self.llm = llm
        self.options = options or EngineOptions()

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        """Retrieval only: the ranked passages for a question."""
        return self.retriever.search(clean_question(question), k or self.options.top_k)

    def answer(
        self,
        question: str,
        on_token: Callable[[str], None] | None = None,
        history: Sequence[Exchange] = (),
        k: int | None = None,
    ) -> Answer:
        """Answer `question` from the documents; `on_token` sees the model's text as it streams."""
        started = time.perf_counter()
        question = clean_question(question)
        passages = self.retriever.search(question, k or self.options.top_k)
        retrieved = time.perf_counter()
        timings = {"retrieve_ms": (retrieved - started) * 1000}
        context = pack_passages(passages, self.options.prompt_chars)
        pieces: list[str] = []
        for piece in self.llm.stream(
            build_messages(question, context, history), self.options.max_answer_tokens, self.options.temperature
        ):
            if not pieces:
                timings["first_token_ms"] = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if on_token:
                on_token(piece)
        timings["generate_ms"] = (time.perf_counter() - retrieved) * 1000
        reply = "".join(pieces).strip()
        if not context or is_refusal(reply):
            return Answer(question, NOT_FOUND_TEXT, False, passages, [], timings)
        text, cited = _fix_citations(reply, context)
        return Answer(question, text, True, passages, cited, timings)


def clean_question(question: str) -> str:
    """The question without control characters, bounded in length; empty is an error."""
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in question)
    kept = " ".join(kept.split())[:MAX_QUESTION_CHARS]
    if not kept:
        raise EmptyQuestionError('the question is empty: ask something, e.g. docbot ask "What is this about?"')
    return kept


def _fix_citations(reply: str, context: Sequence[Passage]) -> tuple[str, list[int]]:
    """Drop citations of passages that were not given; cite the best-matching one if none."""
    text = _CITATION.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(context) else "", reply).strip()
    cited = sorted({int(n) for n in _CITATION.findall(text)})
    if not cited:
        best = _best_supporting(text, context)
        text = f"{text.rstrip()} [{best}]"
        cited = [best]
    return text, cited


def _best_supporting(text: str, context: Sequence[Passage]) -> int:
    """1-based number of the passage sharing the most words with `text`."""
    words = {w.lower() for w in _WORD.findall(text)}
    overlaps = [len(words & {w.lower() for w in _WORD.findall(p.text)}) for p in context]
    return overlaps.index(max(overlaps)) + 1

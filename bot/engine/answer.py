"""The answer engine: question in, cited answer out. Knows nothing of terminals or Discord."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from docbot.engine.answer_reader import AnswerReader
from docbot.engine.answer_text import compose_answer, reader_first_line
from docbot.engine.evidence import Evidence, pack_evidence, rank_evidence
from docbot.engine.llm import LanguageModel
from docbot.engine.prompt import NOT_FOUND_TEXT, Exchange, build_messages, is_refusal, retrieval_query
from docbot.engine.question_shape import question_shape
from docbot.engine.refusal import RefusalPolicy
from docbot.engine.word_similarity import WordSimilarity
from docbot.errors import EmptyQuestionError, ReaderUnavailable
from docbot.index.embedder import Embedder
from docbot.index.search import Passage, Retriever

log = logging.getLogger("docbot.engine")
MAX_QUESTION_CHARS = 1000  # longer questions are cut: the prompt size stays bounded
# Dropped from questions whole, not just their control bytes: terminal escape sequences (CSI, OSC) and
# chat-template markers, which would otherwise count as question words (and the refusal checks then
# find no sentence holding enough of them) or pose as a turn of the conversation.
_NOT_WORDS = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|</?s>|<\|[a-z_]+\|>|\[/?INST\]")


@dataclass(frozen=True)
class EngineOptions:
    """How much the engine retrieves, shows the model and lets it write (settings of the same names)."""

    top_k: int
    prompt_chars: int  # character budget for the evidence sentences in the prompt
    answer_sentences: int  # at most this many evidence sentences reach the model
    max_answer_tokens: int
    max_answer_chars: int
    max_answer_lines: int  # the model's reply is cut after this many lines (0 = no limit)
    temperature: float


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
            "sources": [p.to_json(n) for n, p in enumerate(self.sources, start=1)],
            "timings": {name: round(ms, 1) for name, ms in self.timings.items()},
        }


class Engine:
    """Retrieves passages, picks the sentences that bear on the question, lets the model answer
    from them, and keeps only what the sources back: a grounded answer, a quote, or a refusal."""

    def __init__(
        self,
        retriever: Retriever,
        llm: LanguageModel,
        options: EngineOptions,
        refusal: RefusalPolicy,
        reader: AnswerReader | None = None,
    ) -> None:
        self.retriever = retriever
        self.llm = llm
        self.options = options
        self.refusal = refusal
        self.reader = reader
        self._word_similarity: tuple[object, WordSimilarity] | None = None  # (its embedder, the similarity)

    def close(self) -> None:
        """Release the language model (an HTTP connection, or llama.cpp's memory)."""
        self.llm.close()

    def use_retriever(self, retriever: Retriever) -> None:
        """Answer from `retriever` from the next question on (a rebuilt index, swapped in live).

        One assignment, so the swap is atomic: each question takes the retriever once, at its start,
        and an answer in flight finishes on the index it began with.
        """
        self.retriever = retriever

    def search(self, question: str, k: int | None = None) -> list[Passage]:
        """Retrieval only: the ranked passages for a question."""
        return self.retriever.search(clean_question(question), k or self.options.top_k)

    def answer(
        self,
        question: str,
        on_text: Callable[[str], object] | None = None,
        history: Sequence[Exchange] = (),
        k: int | None = None,
    ) -> Answer:
        """Answer `question` from the documents; `on_text` sees the answer as it is written, piece by piece.

        Where the reader has read the best supporting sentence, the answer's first line is its quote
        whatever the model says, and the model's words are never shown (they only choose which sentence
        is quoted next): that line comes at once, before the model runs, unless the model's "I don't
        know" could still refuse (then nothing comes before the answer: nothing shown is taken back).
        Without a reader, the model's claim may lead, and `on_text` sees its text as it streams.
        """
        started = time.perf_counter()
        retriever = self.retriever  # once: an index swapped in meanwhile serves the next question
        question = clean_question(question)
        query = retrieval_query(question, history)
        passages = retriever.search(query, k or self.options.top_k)
        retrieved = time.perf_counter()
        timings = {"retrieve_ms": (retrieved - started) * 1000, "generate_ms": 0.0}
        embedder = retriever.embedder
        evidence = rank_evidence(query, passages, embedder)
        shape = question_shape(question)
        names = " ".join(sorted(shape.topic))
        # The cheap checks first: finding support may embed sentences again.
        refused = self.refusal.before_generation(query, passages, evidence)
        supporting = (
            []
            if refused
            else self.refusal.supporting(
                shape,
                evidence,
                lambda s: float(embedder.similarities(names, [s])[0]),
                self._words_of(embedder),
            )
        )
        if not supporting:
            return Answer(question, NOT_FOUND_TEXT, False, passages, [], timings)  # sources stay listed
        facts = pack_evidence(supporting, self.options.prompt_chars, self.options.answer_sentences)
        if self.reader is not None:  # where the answer lies shapes the first line, not the prompt
            facts = self._read(question, facts)
        first_line = None if self.refusal.model_may_refuse(facts) else reader_first_line(facts, shape)
        if first_line is not None:
            timings["first_line_ms"] = (time.perf_counter() - started) * 1000
            if on_text:
                on_text(first_line)
        pieces: list[str] = []
        for piece in self.llm.stream(
            build_messages(question, facts), self.options.max_answer_tokens, self.options.temperature
        ):
            if not pieces:
                timings["first_token_ms"] = (time.perf_counter() - started) * 1000
            pieces.append(piece)
            if on_text and facts[0].answer_chances is None:  # else the reader's quote leads, not these words
                on_text(piece)
            if "\n" in piece and _finished_lines("".join(pieces)) >= self.options.max_answer_lines > 0:
                break  # small models go on to list every fact; the first line is the answer
        timings["generate_ms"] = (time.perf_counter() - retrieved) * 1000  # evidence, prompt and model
        reply = "".join(pieces).strip()
        if self.refusal.after_generation(is_refusal(reply), facts):
            return Answer(question, NOT_FOUND_TEXT, False, passages, [], timings)
        text, cited = compose_answer(reply, facts, self.options.max_answer_chars, shape)
        return Answer(question, text, True, passages, cited, timings)

    def _read(self, question: str, supporting: list[Evidence]) -> list[Evidence]:
        """The supporting sentences, the best (the first line's) with where in it the reader finds the answer.

        A reader whose files cannot be read is dropped with one log line: answers go on without it."""
        assert self.reader is not None
        best, *rest = supporting
        try:
            (reading,) = self.reader.read(question, [best.sentence])
        except ReaderUnavailable as error:
            log.warning("%s; first lines are the model's grounded claim or placed by word cues from now on", error)
            self.reader = None
            return supporting
        return [replace(best, answer_chances=reading.word_probabilities), *rest]

    def _words_of(self, embedder: Embedder) -> WordSimilarity:
        """The word similarity of `embedder`, made once (a swapped-in index may bring another embedder)."""
        held = self._word_similarity
        if held is None or held[0] is not embedder:
            held = self._word_similarity = (embedder, WordSimilarity(embedder.embed_words))
        return held[1]


def clean_question(question: str) -> str:
    """The question without control characters, bounded in length; empty is an error."""
    kept = _without_stacked_marks(_NOT_WORDS.sub(" ", question))
    kept = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in kept)
    kept = " ".join(kept.split())[:MAX_QUESTION_CHARS]
    if not kept:
        raise EmptyQuestionError('the question is empty: ask something, e.g. docbot ask "What is this about?"')
    return kept


def _without_stacked_marks(text: str) -> str:
    """`text` without combining marks on ASCII letters ("zalgo" text), which hide its words from the search.

    After NFC composition an accent that has a letter of its own (é) is no longer a combining mark,
    so only decoration is dropped; marks on other scripts, where they spell, are kept.
    """
    kept: list[str] = []
    on_ascii = False
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.category(ch) != "Mn":
            on_ascii = ch.isascii()
        elif on_ascii:
            continue
        kept.append(ch)
    return "".join(kept)


def _finished_lines(text: str) -> int:
    """How many non-empty lines of `text` are complete (followed by a newline)."""
    return sum(1 for line in text.split("\n")[:-1] if line.strip())

"""`docbot eval`: how often the engine finds, answers and rightly refuses, on a QA benchmark.

Questions come as JSON lines: `question`, `answers` (gold strings) and `answerable`. A line whose
`answerable` is null and whose `answers` are empty (as `docbot feedback export` writes them, before
someone fills in the gold answer) is unlabeled: it is counted, not asked. Other keys are ignored.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from docbot.engine.answer import Answer, Engine
from docbot.errors import DocbotError

CONTEXT_CHARS = 2000  # context hit: gold answer within this much of the sources, in rank order
ANSWER_CHARS = 400  # answer accuracy: gold answer within an answer of at most this length
_NON_WORD = re.compile(r"[^0-9a-z]+")


class QuestionsFileError(DocbotError):
    """The questions file is missing or not the expected JSON lines."""


@dataclass(frozen=True)
class BenchQuestion:
    question: str
    answers: tuple[str, ...]
    answerable: bool


@dataclass(frozen=True)
class QuestionsFile:
    """The questions of a file that can be scored, and how many lines still wait for a gold answer."""

    questions: list[BenchQuestion]
    unlabeled: int = 0


@dataclass(frozen=True)
class Outcome:
    """How the engine did on one question."""

    question: BenchQuestion
    answered: bool
    context_hit: bool
    correct: bool
    first_line_correct: bool  # a gold answer within the answer's first line, the claim a reader sees first
    first_line_chars: int  # length of that line (0 when refused)
    seconds: float


@dataclass(frozen=True)
class EvalReport:
    questions: int
    answerable: int
    unanswerable: int
    context_hit: float | None  # over answerable questions (None: there are none)
    answer_accuracy: float | None  # over answerable questions
    first_line_accuracy: float | None  # over answerable questions
    median_first_line_chars: float | None  # over answered questions
    refusal_rate: float | None  # over unanswerable questions: said "not in the documents"
    false_refusal_rate: float | None  # over answerable questions
    latency_p50_ms: float
    latency_p90_ms: float
    unlabeled: int = 0  # lines with no gold answer yet, not asked

    def to_json(self) -> dict[str, float | int | None]:
        return asdict(self)

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) pairs for a table; a metric with nothing to measure is left out."""
        rows = [
            ("questions (answerable / unanswerable)", f"{self.questions} ({self.answerable} / {self.unanswerable})"),
            ("context hit", _ratio(self.context_hit)),
            ("answer accuracy", _ratio(self.answer_accuracy)),
            ("first-line accuracy", _ratio(self.first_line_accuracy)),
            ("median first-line length, answered", _chars(self.median_first_line_chars)),
            ("refusal on unanswerable", _ratio(self.refusal_rate)),
            ("false refusal on answerable", _ratio(self.false_refusal_rate)),
            ("latency p50 / p90", f"{self.latency_p50_ms:.0f} / {self.latency_p90_ms:.0f} ms"),
            ("unlabeled, not asked (no gold answer yet)", str(self.unlabeled) if self.unlabeled else None),
        ]
        return [(name, value) for name, value in rows if value is not None]


def load_questions(path: Path, limit: int | None = None) -> QuestionsFile:
    """Read a questions file; a bad line is a one-line error naming its number."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionsFileError(f"cannot read questions file {path}: {exc}") from None
    questions: list[BenchQuestion] = []
    unlabeled = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = str(record["question"])
            answers = tuple(str(a) for a in record.get("answers") or ())
            answerable = record.get("answerable", bool(answers))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise QuestionsFileError(
                f"{path}, line {number}: expected a JSON object with 'question', 'answers' and 'answerable'"
            ) from None
        if answerable is None and not answers:
            unlabeled += 1
            continue
        questions.append(BenchQuestion(question, answers, bool(answers) if answerable is None else bool(answerable)))
        if limit is not None and len(questions) >= limit:
            break
    if not questions and unlabeled:
        raise QuestionsFileError(
            f"{path}: none of its {unlabeled} questions has a gold answer yet: fill in 'answers' "
            "(or set 'answerable' to false) on the lines to measure"
        )
    if not questions:
        raise QuestionsFileError(f"{path} holds no questions")
    return QuestionsFile(questions, unlabeled)


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    """Whether any gold answer occurs in `text`, ignoring case, punctuation and spacing."""
    haystack = f" {_normalize(text)} "
    return any(_normalize(a) and f" {_normalize(a)} " in haystack for a in answers)


def judge(question: BenchQuestion, answer: Answer, seconds: float) -> Outcome:
    """Score one answer against its gold answers."""
    context = "\n".join(p.text for p in answer.sources)[:CONTEXT_CHARS]
    answered_text = answer.text[:ANSWER_CHARS] if answer.answered else ""
    first_line = answered_text.split("\n", 1)[0]
    return Outcome(
        question=question,
        answered=answer.answered,
        context_hit=contains_answer(context, question.answers),
        correct=contains_answer(answered_text, question.answers),
        first_line_correct=contains_answer(first_line, question.answers),
        first_line_chars=len(first_line),
        seconds=seconds,
    )


def run_eval(
    engine: Engine, questions: Sequence[BenchQuestion], on_done: Callable[[Outcome], None] | None = None
) -> list[Outcome]:
    """Ask every question through `engine`, exactly as `docbot ask` does."""
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        answer = engine.answer(question.question)
        outcome = judge(question, answer, time.perf_counter() - started)
        outcomes.append(outcome)
        if on_done:
            on_done(outcome)
    return outcomes


def summarize(outcomes: Sequence[Outcome], unlabeled: int = 0) -> EvalReport:
    answerable = [o for o in outcomes if o.question.answerable]
    unanswerable = [o for o in outcomes if not o.question.answerable]
    latencies = sorted(o.seconds * 1000 for o in outcomes) or [0.0]
    first_lines = [o.first_line_chars for o in outcomes if o.answered]
    return EvalReport(
        questions=len(outcomes),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        context_hit=_share(answerable, lambda o: o.context_hit),
        answer_accuracy=_share(answerable, lambda o: o.correct),
        first_line_accuracy=_share(answerable, lambda o: o.first_line_correct),
        median_first_line_chars=statistics.median(first_lines) if first_lines else None,
        refusal_rate=_share(unanswerable, lambda o: not o.answered),
        false_refusal_rate=_share(answerable, lambda o: not o.answered),
        latency_p50_ms=statistics.median(latencies),
        latency_p90_ms=latencies[min(len(latencies) - 1, int(0.9 * len(latencies)))],
        unlabeled=unlabeled,
    )


def _share(outcomes: Sequence[Outcome], test: Callable[[Outcome], bool]) -> float | None:
    return sum(map(test, outcomes)) / len(outcomes) if outcomes else None


def _ratio(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def _chars(value: float | None) -> str | None:
    return None if value is None else f"{value:.0f} chars"


def _normalize(text: str) -> str:
    return _NON_WORD.sub(" ", text.lower()).strip()

"""Where in a sentence the answer to a question sits, for a first line that shows it.

Each word of the supporting sentence gets a probability of belonging to the answer from a few
cues a reader would use too: the answer is near the question's words but not one of them, is of
the kind asked (a year for "when", a name for "who"), and follows the words that frame it ("by
1066 Normandy had been exporting fighting horsemen"). The weights are a logistic regression fitted
on SQuAD 2.0 training articles by scripts/fit_answer_span.py, which prints them and their
held-out figures; the excerpt is the window of the sentence that holds the most answer
probability.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from docbot.engine.question_shape import AnswerKind, QuestionShape, holds_answer_kind
from docbot.index.terms import content_terms

_LEADING_WORDS = frozenset("of in by the a an to as from for with at on is was were are".split())
_DIGIT = re.compile(r"\d")
_FAR = 99  # distance to the question's words when none lies on that side
_KINDS = (AnswerKind.TIME, AnswerKind.QUANTITY, AnswerKind.PERSON, AnswerKind.PLACE, AnswerKind.OTHER)

# Weights of word_features, in order; from scripts/fit_answer_span.py (SQuAD 2.0 train, half of it).
WEIGHTS = (
    -1.95, -1.33, -1.06, 0.16, 0.49, 2.24, -0.04, 0.31, 0.54, 0.38, -0.24, -0.86,
    -0.03, -0.63, -0.16, -0.84, -0.17, -0.04, -0.67, 1.08, 0.02,
    -0.87, 1.27, -1.79, -0.58, 1.23, -0.83, 0.96, -0.37, 0.96, 0.67,
)  # fmt: skip


def word_features(words: Sequence[str], shape: QuestionShape) -> list[list[float]]:
    """One row of cues per word of a sentence (split on spaces), for the answer-word probability."""
    asked = [bool(set(content_terms(word)) & shape.terms) for word in words]
    asked_at = [i for i, is_asked in enumerate(asked) if is_asked]
    typed = shape.kind is not AnswerKind.OTHER
    rows = []
    for i, word in enumerate(words):
        number = bool(_DIGIT.search(word))
        stopword = not content_terms(word) and not number
        name = word[:1].isupper() and i > 0
        kind = typed and holds_answer_kind(shape, word)
        left = min((i - j for j in asked_at if j < i), default=_FAR)
        right = min((j - i for j in asked_at if j > i), default=_FAR)
        new = not asked[i]
        row = [
            1.0, asked[i], stopword, number, name, kind, 1 / (1 + left), 1 / (1 + right),
            new and left <= 3, new and right <= 3, left == right == _FAR, i / len(words),
            i > 0 and words[i - 1].lower() in _LEADING_WORDS, left < _FAR and right < _FAR,
            left < _FAR and right == _FAR, left == _FAR and right < _FAR,
            new and not (stopword or name or number), word.endswith((",", ".", ";", ":")), word.startswith("("),
            1 / (len(words) - i), new and 0 < left < _FAR and right == _FAR and i - left > 0,
        ]  # fmt: skip
        for answer_kind in _KINDS:
            row += [shape.kind is answer_kind and name, shape.kind is answer_kind and number]
        rows.append([float(value) for value in row])
    return rows


def answer_word_probabilities(words: Sequence[str], shape: QuestionShape) -> list[float]:
    """For each word, the probability that it belongs to the answer."""
    return [_sigmoid(sum(w * x for w, x in zip(WEIGHTS, row, strict=True))) for row in word_features(words, shape)]


def answer_window(
    sentence: str, shape: QuestionShape, width: int, chances: Sequence[float] | None = None
) -> tuple[int, int]:
    """(first, last) word indexes of the window of at most `width` characters (with room for two
    ellipses) that holds the most answer probability; the whole sentence when it fits.

    `chances`: each word's probability of lying inside the answer from the answer reader, used
    instead of the word cues (on bench sentences over 120 characters whose answer the best sentence
    holds, the window then holds the gold answer 0.69 of the time, against 0.55)."""
    words = sentence.split()
    if len(sentence) <= width or not words:
        return 0, max(0, len(words) - 1)
    probabilities = (
        chances if chances is not None and len(chances) == len(words) else answer_word_probabilities(words, shape)
    )
    weight = [p * p for p in probabilities]  # squared: confident words count most
    best, best_score = (0, 0), -1.0
    last, length, score = -1, -1, 0.0
    for first in range(len(words)):
        if last < first:  # the window starts empty at `first`
            last, length, score = first, len(words[first]), weight[first]
        while last + 1 < len(words) and length + 1 + len(words[last + 1]) <= width - 2:
            last += 1
            length += 1 + len(words[last])
            score += weight[last]
        if score > best_score:
            best, best_score = (first, last), score
        length -= len(words[first]) + 1
        score -= weight[first]
    return best


def _sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))

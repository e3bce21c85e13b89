"""What a question asks for: the kind of answer it expects, what it is about, and what about it.

"In what year was Rollo born?" expects a time, is about Rollo (its topic) and asks when he was
born (its focus). A sentence answers it only if it holds all three; one that mentions Rollo but
not his birth does not, however closely it matches the rest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from docbot.index.terms import content_terms, names, numbers, without_accents, words

# What a focus word said in other words counts for ("killing" for "die"): fitted with
# refusal.WORD_PARAPHRASE_SIMILARITY on ../shared/train (see README, How answers stay honest).
PARAPHRASE_CREDIT = 0.5


class AnswerKind(Enum):
    TIME = "time"  # when, what year, which century
    QUANTITY = "quantity"  # how many, how much, what percentage
    PERSON = "person"  # who, whom, whose
    PLACE = "place"  # where, in which city
    OTHER = "other"  # what, which, why, how: no constraint on the answer's form


_TIME_NOUNS = r"(?:year|date|century|decade|month|day|era|period)s?"
_QUANTITY_NOUNS = (
    r"(?:percentage|percent|proportion|number|amount|population|total|size|length|height|area|cost|price|rate|"
    r"salary|budget|revenue|speed|weight|distance|temperature|rainfall|capacity|value)s?"
)
_PLACE_NOUNS = r"(?:city|country|state|town|region|continent|county|island|province|nation|village|borough)s?"
# "what [is the] population", "which [European] city"; not "what kind of region", which asks for a kind.
_A_FEW_WORDS = r"(?:(?!(?:kind|type|sort)s?\s+of\b)[\w'’-]+\s+){0,2}?"
_NAMED_PLACE_QUESTION = rf"\b(?:what|which)\s+{_A_FEW_WORDS}{_PLACE_NOUNS}\b"
# "What country...?" asks for a name: "in the 11th century" describes no country, as it may say where.
_NAMED_PLACE = re.compile(_NAMED_PLACE_QUESTION, re.I)
_KIND_PATTERNS: tuple[tuple[AnswerKind, re.Pattern[str]], ...] = (
    (AnswerKind.TIME, re.compile(rf"\b(?:when|(?:what|which)\s+{_A_FEW_WORDS}{_TIME_NOUNS}\b|how long ago)", re.I)),
    (
        AnswerKind.QUANTITY,
        re.compile(
            r"\bhow\s+(?:many|much|long|far|old|big|large|tall|high|fast|often|wide|deep|heavy)\b"
            rf"|\b(?:what|which)\s+{_A_FEW_WORDS}{_QUANTITY_NOUNS}\b",
            re.I,
        ),
    ),
    (AnswerKind.PERSON, re.compile(r"\b(?:who|whom|whose)\b", re.I)),
    (AnswerKind.PLACE, re.compile(rf"\bwhere|{_NAMED_PLACE_QUESTION}", re.I)),
    (AnswerKind.OTHER, re.compile(r"\b(?:what|which|why|how)\b", re.I)),
)
# Words that frame a question without saying what it asks: "What is the name of...", "take place".
_FRAME_WORDS = (
    "what which who whom whose when where why how name named type kind call called term word many much year "
    "date main first one ones some used use take took taken place located location get got go went make made "
    "happen happened give given according consider considered known refer referred occur occurred article "
    "document text passage paragraph author list explain describe detail tell show summarize summarise "
    "city country state town region continent county island province "
    "nation village borough century decade month day era period"
)
_MONTHS = (
    r"(?:january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b"
)
_TIME = re.compile(
    rf"\b(?:\d{{3,4}}s?\b|\d{{1,2}}(?:st|nd|rd|th)[ -]centur(?:y|ies)|{_MONTHS}"
    r"|\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midnight"
    r"|(?:mon|tues|wednes|thurs|fri|satur|sun)days?|weekdays?|weekends?"
    r"|(?:spring|summer|autumn|fall|winter|yesterday|today|tomorrow|century|centuries|decades?|ago|BC|AD|BCE"
    r"|morning|afternoon|evening|night|dawn|dusk|daily|weekly|monthly|annually|yearly)\b)",
    re.I,
)
_ORDINAL = re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I)
_NUMBER_WORD = re.compile(
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|nine)teen"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?"
    r"|thousands?|millions?|billions?|trillions?|dozens?|half|quarter|several|once|twice|single|both|multiple"
    r"|none)\b",
    re.I,
)


_LOCATIVE = re.compile(
    r"\b(?:in|at|on|near|inside|under|behind|beside|along|across|outside|above|below)\s+(?:the|a|an)\b", re.I
)
_ANAPHOR = re.compile(
    r"\b(?:he|she|it|its|they|them|their|his|her|this|these|those|the (?:city|company|band|group|team))\b", re.I
)


@dataclass(frozen=True)
class QuestionShape:
    """A question's expected answer kind, its topic (names) and its focus (what it asks of them)."""

    kind: AnswerKind
    terms: frozenset[str]  # stemmed content terms
    topic: frozenset[str]  # names the question is about, lower-cased
    focus: frozenset[str]  # stems of the relation or attribute asked: born, own, rainfall
    numbers: frozenset[str]
    focus_words: tuple[tuple[str, str], ...] = ()  # (stem, the word the question wrote): ("die", "die")
    text: str = ""  # the question as asked


def question_shape(question: str) -> QuestionShape:
    """Read a question's expected answer kind, topic and focus."""
    kind = _answer_kind(question)
    terms = frozenset(content_terms(question))
    topic = frozenset(names(question))
    not_focus = set(content_terms(" ".join(topic))) | set(content_terms(_FRAME_WORDS))
    focus = frozenset(t for t in terms if t not in not_focus and not t[:1].isdigit() and len(t) > 1)
    written: dict[str, str] = {}
    for word in words(question):
        stem = content_terms(word)
        if stem and stem[0] in focus:
            written.setdefault(stem[0], word)
    return QuestionShape(
        kind, terms, topic, focus, frozenset(numbers(question)), tuple(sorted(written.items())), question
    )


def _answer_kind(question: str) -> AnswerKind:
    """The kind asked by the question's wh-word: the one it opens with ("In what year..."), else its last
    one ("When the time is long, this is what case?" asks "what", its "when" is a conjunction)."""
    found = sorted(
        (match.start(), -len(match.group(0)), kind)
        for kind, pattern in _KIND_PATTERNS
        for match in pattern.finditer(question)
    )
    if not found:
        return AnswerKind.OTHER
    opening, last = found[0], max(found, key=lambda item: (item[0], item[1]))
    after_comma = last[0] > question.rfind(",") >= 0  # "When X happens, what is Y?"
    if len(question[: opening[0]].split()) <= 2 and not after_comma:  # a preposition and an article at most
        return opening[2]
    return last[2]


def holds_answer_kind(shape: QuestionShape, text: str) -> bool:
    """Whether `text` holds something of the kind the question expects that the question does not say."""
    if shape.kind is AnswerKind.TIME:
        return any(found.group(0) not in shape.numbers for found in _TIME.finditer(text))
    if shape.kind is AnswerKind.QUANTITY:  # "the 13th century" counts nothing
        counts = _ORDINAL.sub(" ", text)
        return bool(numbers(counts) - shape.numbers) or bool(_NUMBER_WORD.search(counts))
    if shape.kind is AnswerKind.PERSON:
        return bool(names(text) - shape.topic)
    if shape.kind is AnswerKind.PLACE:  # a named place, or for "where" a place described: "in the second drawer"
        described = not _NAMED_PLACE.search(shape.text) and bool(_LOCATIVE.search(text))
        return bool(names(text) - shape.topic) or described
    return True


# Relations that everyday text says in other words than questions do ("Who leads X?" / "X's CEO, Y").
# Stems; a focus stem of one family is found when any member of it is.
_SAME_RELATION = (
    frozenset({"lead", "leader", "head", "chief", "ceo", "presid", "director", "chair", "chairman", "run"}),
    frozenset({"own", "owner", "acquir", "purchas", "bought", "buy"}),
    frozenset({"found", "founder", "establish", "creat", "start"}),
    frozenset({"born", "birth"}),
    frozenset({"die", "death", "dead"}),
    frozenset({"marri", "wife", "husband", "spous"}),
    frozenset({"wrote", "write", "written", "author"}),
    frozenset({"employ", "employe", "staff", "worker"}),
    frozenset({"cost", "price", "pay", "paid"}),
)


def _relatives(stem: str) -> frozenset[str]:
    return frozenset().union(*(family for family in _SAME_RELATION if stem in family)) or frozenset({stem})


def focus_share(
    shape: QuestionShape,
    text: str,
    weights: dict[str, float] | None = None,
    said_otherwise: Callable[[str], bool] | None = None,
) -> float:
    """Weighted share of the question's focus stems found in `text` (a shared stem prefix counts:
    own/owner). `weights` (default 1 each) let a rare focus word count more than a common one.
    A focus stem the text does not hold but for which `said_otherwise(stem)` is true counts
    PARAPHRASE_CREDIT of its weight: a word of like meaning is weaker evidence than the word itself."""
    if not shape.focus:
        return 1.0
    found = set(content_terms(text))
    weight = weights or {}
    total = sum(weight.get(f, 1.0) for f in shape.focus)
    held = 0.0
    for f in shape.focus:
        if any(_same_root(r, t) for r in _relatives(f) for t in found):
            held += weight.get(f, 1.0)
        elif said_otherwise is not None and said_otherwise(f):
            held += PARAPHRASE_CREDIT * weight.get(f, 1.0)
    return held / total


def focus_weights(shape: QuestionShape, sentences: list[str]) -> dict[str, float]:
    """Inverse document frequency of each focus stem over `sentences`: rare words weigh more."""
    found = [set(content_terms(sentence)) for sentence in sentences]
    n = len(found) + 1
    return {
        f: math.log(1 + n / (1 + sum(any(_same_root(f, t) for t in terms) for terms in found))) for f in shape.focus
    }


def refers_back(sentence: str) -> bool:
    """Whether the sentence points back to a subject named before it ("He was born...", "Its capital...")."""
    return bool(_ANAPHOR.search(sentence))


def topic_share(shape: QuestionShape, text: str) -> float:
    """Share of the question's names found in `text`."""
    if not shape.topic:
        return 1.0
    lowered = without_accents(text.lower())
    return sum(without_accents(name) in lowered for name in shape.topic) / len(shape.topic)


def _same_root(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a)))

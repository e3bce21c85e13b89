"""Turn the model's short reply into the answer a user reads.

The first line is the answer itself, short and cited. Where the answer reader has read the best
supporting sentence, it is the part of that sentence the reader finds the answer in, in quotation
marks: the documents' own words beat the model's, which with the default model say something else
(grounded, but about another part of the sentence) about 4 times in 10. Without a reader's reading
it is the model's claim when one supporting sentence backs it (its numbers and names there with
what the claim says they are) and it is the kind of answer asked for, else the part of the sentence
the word cues point to. The whole sentence follows, quoted, then the one the model answered from
(the one it cited, or the one holding most of its words) if another, so the reader can check at a
glance."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from docbot.engine.answer_span import answer_window
from docbot.engine.evidence import Evidence
from docbot.engine.grounding import check_grounding
from docbot.engine.question_shape import QuestionShape, holds_answer_kind
from docbot.index.chunking import split_sentences
from docbot.index.terms import content_terms, numbers

# "[3]": the number of a source in an answer. Every reader of citations uses this one pattern.
CITATION = re.compile(r"\[(\d{1,2})\]")
_SPACED_CITATION = re.compile(r"\s*" + CITATION.pattern)  # with the space before it, to remove it
# A small model's preamble before its answer ("The answer to the question is: …", "Answer: …").
_LEAD_IN = re.compile(r"^(?:(?:the\s+)?answer(?:\s+to\s+(?:the|this|your)\s+question)?(?:\s+is)?\s*:)\s*", re.I)
SAME_CLAIM_SHARE = 0.6  # a claim this close to the whole quoted sentence needs no quote after it
# A quoted first line shows this much of its sentence, around the answer: the widest part whose line, with its
# quotes and citation, stays within 98 characters. Each character more holds the answer more often (held-out
# training article, three reader fits: 0.803 at 90, 0.819 at 92, 0.863 at 100), so the width is the length budget.
FIRST_LINE_CHARS = 92
# ...unless the whole sentence is this short: a sentence of 25 words reads at a glance, and an excerpt of it
# hides the answer more often than it saves reading. Chosen on ../shared/train (four articles, 1,272 answerable
# questions) as the longest that keeps the median first line under 98 characters: first-line accuracy 0.615 at
# 120, 0.622 at 160, 0.626 at 180 (median 98), median 116 at 200.
WHOLE_SENTENCE_CHARS = 160
CLAIM_WINDOW_CHARS = 100  # a claim must add what lies in this much of a sentence, around the answer


def compose_answer(
    reply: str, facts: Sequence[Evidence], max_chars: int, shape: QuestionShape | None = None
) -> tuple[str, list[int]]:
    """(answer text with [n] source citations, the cited source numbers).

    `facts` are the sentences that answer the question, best first (never empty)."""
    cited_facts = [int(n) for n in CITATION.findall(reply) if 1 <= int(n) <= len(facts)]
    claim = _claim(reply, max_chars // 2)
    support = _supporting_fact(claim, facts, cited_facts) if claim else facts[0]
    best = facts[0]
    if claim and best.answer_chances is None and _backs(claim, facts, shape):
        text = f"{claim.rstrip(' .')} [{support.source}]."
        quoted = [best, support]
    else:
        claim, text = _quoted_first_line(best, shape)
        quoted = ([best] if claim != best.sentence else []) + [support]
    for fact in dict.fromkeys(quoted):
        room = max_chars - len(text) - 1
        if not _restates(claim, fact.sentence) and (fact is best or room >= len(fact.sentence) + 8):
            text += "\n" + _quote(fact, room)
    return text, sorted({int(n) for n in CITATION.findall(text)})


def reader_first_line(facts: Sequence[Evidence], shape: QuestionShape | None = None) -> str | None:
    """The first line compose_answer gives whatever the model replies: the reader's quote of the best
    sentence, once the reader has read it (else None: the model's claim may lead)."""
    best = facts[0]
    return None if best.answer_chances is None else _quoted_first_line(best, shape)[1]


def _quoted_first_line(best: Evidence, shape: QuestionShape | None) -> tuple[str, str]:
    """(the excerpt, the line quoting it): the best sentence whole when it is short, else the part of
    it most likely to hold the answer."""
    whole = len(best.sentence) <= WHOLE_SENTENCE_CHARS
    excerpt = best.sentence if whole else _excerpt(best, shape, FIRST_LINE_CHARS)
    return excerpt, f'"{excerpt}" [{best.source}]'


def _backs(claim: str, facts: Sequence[Evidence], shape: QuestionShape | None) -> bool:
    """Whether each sentence of the claim is backed by one fact, and the claim is an answer of the kind asked.

    Grounding each claim sentence against a single supporting sentence keeps a number or name with
    its own context: "employs 4,222,000 people" fails against "4,222,000 customers"."""
    for part in split_sentences(claim):
        if not any(check_grounding(part, f"{fact.context} {fact.sentence}").grounded for fact in facts):
            return False
    if shape is None:
        return True
    says_more = set(content_terms(claim)) - shape.terms or numbers(claim) - shape.numbers
    return bool(says_more) and holds_answer_kind(shape, claim) and _in_answer_window(claim, facts, shape)


def _excerpt(fact: Evidence, shape: QuestionShape | None, width: int) -> str:
    """The part of the fact's sentence, at most `width` characters, most likely to hold the answer:
    where the answer reader found it, else where the answer-word cues point."""
    sentence = fact.sentence
    if len(sentence) <= width or shape is None:
        return textwrap.shorten(sentence, width, placeholder="…")
    words = sentence.split()
    first, last = answer_window(sentence, shape, width, fact.answer_chances)
    return ("…" if first else "") + " ".join(words[first : last + 1]) + ("…" if last < len(words) - 1 else "")


def _in_answer_window(claim: str, facts: Sequence[Evidence], shape: QuestionShape) -> bool:
    """Whether what each sentence of the claim adds to the question lies where some fact most likely
    holds the answer: a claim built from another part of the sentence ("Who did Alexander I marry?"
    -> "the Davidian Revolution") answers something else."""
    windows = [set(content_terms(_excerpt(fact, shape, CLAIM_WINDOW_CHARS))) for fact in facts]
    for part in split_sentences(claim):
        added = set(content_terms(part)) - shape.terms
        if added and not any(len(added & window) * 2 >= len(added) for window in windows):
            return False
    return True


def _claim(reply: str, max_chars: int) -> str:
    """The reply on one line, without citations or wrapping quotes."""
    claim = " ".join(_SPACED_CITATION.sub("", reply).split()).strip('"').strip()
    claim = _LEAD_IN.sub("", claim).strip('"').strip()
    claim = claim[:1].upper() + claim[1:]
    return textwrap.shorten(claim, max_chars, placeholder="…")


def _supporting_fact(claim: str, facts: Sequence[Evidence], cited: list[int]) -> Evidence:
    """The fact the model cited if it holds the claim's words, else the one holding most of them."""
    terms = set(content_terms(claim))

    def overlap(fact: Evidence) -> int:
        return len(terms & set(content_terms(fact.sentence)))

    best = max(facts, key=overlap)  # max keeps the first (best-ranked) of equals
    if cited and overlap(facts[cited[0] - 1]) >= overlap(best):
        return facts[cited[0] - 1]
    return best


def _restates(claim: str, sentence: str) -> bool:
    return claim.lower().rstrip(" .") in sentence.lower() and len(claim) >= SAME_CLAIM_SHARE * len(sentence)


def _quote(fact: Evidence, room: int) -> str:
    """The fact's sentence in quotes with its citation, shortened at a word to fit `room`."""
    citation = f" [{fact.source}]"
    text = fact.sentence
    limit = room - len(citation) - 2
    if len(text) > limit:
        text = textwrap.shorten(text, max(1, limit), placeholder="…")
    return f'"{text}"{citation}'

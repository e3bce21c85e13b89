"""Turn the model's short reply into the answer a user reads: a claim the sources back, with
its citation, and the sentence it rests on quoted; or, when the claim is not backed, the quote."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from docbot.engine.evidence import Evidence
from docbot.engine.grounding import check_grounding
from docbot.index.terms import content_terms

# "[3]": the number of a source in an answer. Every reader of citations uses this one pattern.
CITATION = re.compile(r"\[(\d{1,2})\]")
_SPACED_CITATION = re.compile(r"\s*" + CITATION.pattern)  # with the space before it, to remove it
UNGROUNDED_LEAD = "The documents say: "
SAME_CLAIM_SHARE = 0.6  # a claim this close to the whole quoted sentence needs no quote after it


def compose_answer(reply: str, facts: Sequence[Evidence], max_chars: int) -> tuple[str, list[int]]:
    """(answer text with [n] source citations, the cited source numbers).

    The best evidence sentence is always quoted: it carries the answer more often than a 135M
    model's own words do, and it lets the reader check the claim at a glance."""
    cited_facts = [int(n) for n in CITATION.findall(reply) if 1 <= int(n) <= len(facts)]
    claim = _claim(reply, max_chars // 2)
    best = facts[0]
    if not claim or not check_grounding(claim, " ".join(f.sentence for f in facts)).grounded:
        return UNGROUNDED_LEAD + _quote(best, max_chars - len(UNGROUNDED_LEAD)), [best.source]
    support = _supporting_fact(claim, facts, cited_facts)
    text = f"{claim.rstrip(' .')} [{support.source}]."
    for fact in dict.fromkeys([best, support]):
        room = max_chars - len(text) - 1
        if not _restates(claim, fact.sentence) and (fact is best or room >= len(fact.sentence) + 8):
            text += "\n" + _quote(fact, room)
    return text, sorted({int(n) for n in CITATION.findall(text)})


def _claim(reply: str, max_chars: int) -> str:
    """The reply on one line, without citations or wrapping quotes."""
    claim = " ".join(_SPACED_CITATION.sub("", reply).split()).strip('"').strip()
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

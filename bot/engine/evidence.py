"""The sentences of the retrieved passages that bear on a question, best first.

A 135M model reads two short sentences far better than three long passages, and a short
prompt is a fast one: the engine gives the model only the best sentences it finds here.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from docbot.index.chunking import split_sentences
from docbot.index.embedder import Embedder
from docbot.index.search import Passage
from docbot.index.terms import content_terms

DENSE_CANDIDATES = 8  # the best sentences by words are re-scored by meaning (one small batch)
LEXICAL_WEIGHT = 2.0  # against cosine similarity; tuned on a SQuAD-style benchmark
NEIGHBOUR_WEIGHT = 0.3  # terms of the sentence before count a little ("He was born in 1947.")
RANK_DECAY = 0.04  # a sentence from the n-th passage loses n * RANK_DECAY of its score
MIN_SENTENCE_CHARS = 12


@dataclass(frozen=True)
class Evidence:
    """One sentence of a retrieved passage and how much of the question it covers."""

    sentence: str
    source: int  # 1-based number of its passage in the answer's sources
    coverage: float  # 0..1: idf-weighted share of the question's terms in the sentence
    score: float  # coverage plus context, minus a small penalty for lower-ranked passages
    context: str = ""  # the sentence before it in the same passage ("He was born in 1947.")
    heading: str = ""  # the heading of its passage ("Lighthouse keeping" over "Step 1: climb the tower.")
    similarity: float = 0.0  # cosine similarity with the question (for the best few, else 0)
    # For each word of the sentence (split on spaces), the answer reader's probability that it lies inside the answer.
    answer_chances: tuple[float, ...] | None = None


def rank_evidence(question: str, passages: Sequence[Passage], embedder: Embedder | None = None) -> list[Evidence]:
    """Every sentence of `passages`, scored against the question, best first.

    Shared words find candidates; with an embedder, the best few are re-scored by meaning too,
    which stops a sentence winning on one stray word ("countries" for "in what country...")."""
    asked = set(content_terms(question))
    if not asked:
        return []
    sentences = [
        (number, sentence, set(content_terms(sentence)))
        for number, passage in enumerate(passages, start=1)
        for sentence in split_sentences(passage.text)
        if len(sentence) >= MIN_SENTENCE_CHARS
    ]
    weights = _idf(asked, [terms for _, _, terms in sentences])
    total = sum(weights.values())
    ranked: list[Evidence] = []
    previous: tuple[int, str, set[str]] = (0, "", set())
    for number, sentence, terms in sentences:
        before_text, before = (previous[1], previous[2]) if previous[0] == number else ("", set())
        coverage = sum(weights[t] for t in asked & terms) / total
        context = sum(weights[t] for t in (asked & before) - terms) / total
        score = coverage + NEIGHBOUR_WEIGHT * context - RANK_DECAY * (number - 1)
        ranked.append(Evidence(sentence, number, coverage, score, before_text, passages[number - 1].chunk.heading))
        previous = (number, sentence, terms)
    ranked.sort(key=lambda e: -e.score)
    if embedder is None or not ranked:
        return ranked
    head = ranked[:DENSE_CANDIDATES]
    similarity = embedder.similarities(question, [e.sentence for e in head])
    rescored = [
        replace(e, score=LEXICAL_WEIGHT * e.score + float(s), similarity=float(s))
        for e, s in zip(head, similarity, strict=True)
    ]
    return sorted(rescored, key=lambda e: -e.score) + ranked[DENSE_CANDIDATES:]


def pack_evidence(evidence: Sequence[Evidence], budget_chars: int, most: int) -> list[Evidence]:
    """The best sentences that fit the character budget (at least one), at most `most`."""
    packed: list[Evidence] = []
    used = 0
    for item in evidence:
        if len(packed) == most:
            break
        if packed and used + len(item.sentence) > budget_chars:
            continue
        packed.append(item)
        used += len(item.sentence)
    return packed


def _idf(asked: set[str], sentences: list[set[str]]) -> dict[str, float]:
    """Rare terms weigh more: a question's name matters more than its common words."""
    counts = Counter(t for terms in sentences for t in terms & asked)
    n = len(sentences) + 1
    return {t: math.log(1 + n / (1 + counts[t])) for t in asked}

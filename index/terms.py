"""The words of a text that carry meaning: stemmed content words, names and numbers."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*|\d+(?:[.,]\d+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised words that are names, not the first word of a sentence: "Rollo", "Satya Nadella".
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z'’-]+")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # Words that shape a question but never pick out its answer.
    question_words = {"many", "much", "one", "also", "would", "could", "may", "us", "s"}
    return frozenset(STOPWORDS_EN_PLUS) | question_words


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def words(text: str) -> list[str]:
    """Lower-cased words and numbers, in order."""
    return [w.lower().strip("'’-") for w in _WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stems of the words that are not stopwords, in order (numbers kept as written)."""
    stop = _stopwords()
    kept = [w for w in words(text) if w and w not in stop]
    return _stemmer().stemWords(kept)


def numbers(text: str) -> set[str]:
    """Numbers written in the text, without thousands separators: '1,200' -> '1200'."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Lower-cased capitalised words that are not stopwords and do not open a sentence."""
    stop = _stopwords()
    return {n.lower().strip("'’-") for n in _NAME.findall(text)} - stop

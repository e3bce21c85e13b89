"""The words of a text that carry meaning: stemmed content words, names and numbers.

The one tokenizer of docbot. Evidence, refusal and grounding read `content_terms`; BM25 reads
`keyword_terms`, the words it was tuned with (bm25s's own rule). Both stem with one Snowball
stemmer per thread: PyStemmer objects are not thread-safe, and building one per call is slow.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Any

# Letters of any script ("Fécamp", "Zürich"), not only A-Z: [^\W\d_] is a letter.
_WORD = re.compile(r"[^\W\d_](?:[^\W\d_]|['’-])*|\d+(?:[.,]\d+)*")
# bm25s's default: runs of two or more word characters, after lower-casing.
_KEYWORD = re.compile(r"(?u)\b\w\w+\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
# Capitalised words that are names, not the first word of a sentence: "Rollo", "Satya Nadella".
# (Upper case is checked after matching: `re` has no class for upper-case letters of every script.)
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[^\W\d_](?:[^\W\d_]|['’-])+")
_local = threading.local()


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    # Words that shape a question but never pick out its answer.
    question_words = {"many", "much", "one", "also", "would", "could", "may", "us", "s"}
    return frozenset(STOPWORDS_EN_PLUS) | question_words


@lru_cache(maxsize=1)
def _keyword_stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def _stem(words: list[str]) -> list[str]:
    """English Snowball stems, with this thread's stemmer."""
    stemmer: Any = getattr(_local, "stemmer", None)
    if stemmer is None:
        import Stemmer

        stemmer = _local.stemmer = Stemmer.Stemmer("english")
    return stemmer.stemWords(words)


def words(text: str) -> list[str]:
    """Lower-cased words and numbers, in order."""
    return [w.lower().strip("'’-") for w in _WORD.findall(text)]


def content_terms(text: str) -> list[str]:
    """Stems of the words that are not stopwords, in order (numbers kept as written)."""
    return _stem(content_words(text))


def content_words(text: str) -> list[str]:
    """The lower-cased words that are not stopwords, unstemmed, in order (numbers kept as written)."""
    stop = _stopwords()
    return [w for w in words(text) if w and w not in stop]


def keyword_terms(text: str) -> list[str]:
    """Stems of the words BM25 indexes and searches, in order: any script, stopwords left out."""
    stop = _keyword_stopwords()
    return _stem([w for w in _KEYWORD.findall(text.lower()) if w not in stop])


def without_accents(text: str) -> str:
    """`text` with its accents dropped, so that "Herve" finds "Hervé"."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def numbers(text: str) -> set[str]:
    """Numbers written in the text, without thousands separators: '1,200' -> '1200'."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Lower-cased capitalised words that are not stopwords and do not open a sentence."""
    stop = _stopwords()
    found = {n.lower().strip("'’-") for n in _NAME.findall(text) if n[0].isupper()}
    return {n.removesuffix("'s").removesuffix("’s") for n in found} - stop  # "Rollo's" names Rollo

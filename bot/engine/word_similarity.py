"""How close in meaning two single words are, by the embedder: "die" and "killing", "enemy" and "fighting".

A question's focus word is often said in other words by the sentence that answers it. Each word
is embedded once (alone, with the query path; the new words of a check in one batch, about 1.5 ms
a word) and kept in a bounded cache, so the words a corpus repeats cost nothing the next time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

CACHE_WORDS = 50_000  # about 75 MB of 384-dimension vectors at most


class WordSimilarity:
    """Cosine similarity of single words, embedded by `embed` (normalised vectors, one per text)."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], cache_words: int = CACHE_WORDS) -> None:
        self._embed = embed
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_words = cache_words

    def closest(self, word: str, candidates: Sequence[str]) -> float:
        """The highest similarity of `word` to any of `candidates` (0 when there are none)."""
        if not candidates:
            return 0.0
        vectors = self._vectors([word, *candidates])
        return float((vectors[1:] @ vectors[0]).max())

    def _vectors(self, words: Sequence[str]) -> np.ndarray:
        new = [w for w in dict.fromkeys(words) if w not in self._cache]
        if new:
            for word, vector in zip(new, self._embed(new), strict=True):
                self._cache[word] = vector
        for word in words:
            self._cache.move_to_end(word)
        vectors = np.array([self._cache[w] for w in words])
        while len(self._cache) > self._cache_words:
            self._cache.popitem(last=False)
        return vectors

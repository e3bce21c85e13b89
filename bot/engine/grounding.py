"""Is an answer backed by its sources? Names, numbers and key terms must appear in them."""

from __future__ import annotations

from dataclasses import dataclass

from docbot.index.terms import content_terms, names, numbers

MAX_UNSUPPORTED_SHARE = 0.34  # of an answer's other content words, this share may be paraphrase


@dataclass(frozen=True)
class GroundingCheck:
    """What of an answer the sources do not contain; grounded when nothing important is missing."""

    missing_numbers: frozenset[str]
    missing_names: frozenset[str]
    unsupported_share: float  # of the remaining content words

    @property
    def grounded(self) -> bool:
        return not self.missing_numbers and not self.missing_names and self.unsupported_share <= MAX_UNSUPPORTED_SHARE


def check_grounding(answer: str, sources: str) -> GroundingCheck:
    """Compare the answer's numbers, names and content words with the source text."""
    source_words = set(content_terms(sources))
    source_lower = sources.lower()
    missing_numbers = numbers(answer) - numbers(sources)
    missing_names = {name for name in names(answer) if name not in source_lower}
    terms = [t for t in content_terms(answer) if not t.isdigit()]
    unsupported = [t for t in terms if t not in source_words]
    share = len(unsupported) / len(terms) if terms else 0.0
    return GroundingCheck(frozenset(missing_numbers), frozenset(missing_names), share)

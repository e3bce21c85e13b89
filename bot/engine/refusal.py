"""When to say "the documents don't say": a question the passages do not cover is refused.

Three signals, cheapest first: the question names something (a name, a number) that no retrieved
passage contains; no sentence covers enough of the question's weighted terms; the model itself
says it does not know while the evidence is only middling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from docbot.engine.evidence import Evidence
from docbot.index.search import Passage
from docbot.index.terms import names, numbers

TRUST_MODEL_BELOW = 0.75  # the model's "I don't know" is believed under this coverage


@dataclass(frozen=True)
class RefusalPolicy:
    """The refusal thresholds (settings of the same names)."""

    refuse_below_coverage: float  # the best sentence must hold this share of the question's terms
    refuse_below_similarity: float  # cosine similarity of the question and the best passage

    def before_generation(self, question: str, passages: Sequence[Passage], evidence: Sequence[Evidence]) -> bool:
        """Refuse without asking the model: the passages plainly do not cover the question."""
        if not passages or not evidence:
            return True
        if max(p.score for p in passages) < self.refuse_below_similarity:
            return True
        if evidence[0].coverage < self.refuse_below_coverage:
            return True
        return bool(missing_specifics(question, passages))

    def after_generation(self, model_refused: bool, evidence: Sequence[Evidence]) -> bool:
        """Refuse when the model says it does not know and the evidence is not strong."""
        return model_refused and evidence[0].coverage < TRUST_MODEL_BELOW


def missing_specifics(question: str, passages: Sequence[Passage]) -> set[str]:
    """Names and numbers of the question that none of the passages contains."""
    text = " ".join(p.text for p in passages)
    lowered = text.lower()
    missing_names = {n for n in names(question) if n not in lowered}
    return missing_names | (numbers(question) - numbers(text))

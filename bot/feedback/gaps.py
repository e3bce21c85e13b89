"""Gaps: the questions the documents did not answer (refused, or 👎), grouped by meaning, most asked first.

/gaps shows them in Discord; `docbot feedback export` writes them as a `docbot eval` questions file,
one line per group, for a maintainer to fill in the gold answers.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from docbot.feedback.store import GapQuestion

# Two wordings this similar (cosine, all-MiniLM-L6-v2, as normalized by _wording) ask the same thing.
# Measured: paraphrases 0.78-0.91 ("how much does a tesla cost" / "what is the price of a tesla" 0.91);
# different questions on one topic 0.49-0.68 ("... tesla cost" / "how fast is a tesla" 0.66). A loose
# paraphrase ("what is the refund policy" / "how do i get my money back", 0.49) stays a group of its own.
SAME_QUESTION_SIMILARITY = 0.75

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit-length vectors, one row each


@dataclass
class Gap:
    """One question the documents did not answer, however it was worded, and how often it came."""

    question: str  # the most asked wording
    asked: int = 0  # answers in the group
    refused: int = 0
    thumbs_down: int = 0  # answers in the group that got a 👎
    variants: list[str] = field(default_factory=list)  # other wordings, most asked first

    def to_eval_json(self) -> dict[str, object]:
        """A line of a `docbot eval` questions file; answerable stays unknown until someone fills `answers`."""
        return {
            "question": self.question,
            "answers": [],
            "answerable": None,
            "asked": self.asked,
            "refused": self.refused,
            "thumbs_down": self.thumbs_down,
            "variants": self.variants,
        }


def since(days: float, now: Callable[[], float] = time.time) -> float:
    """The Unix time `days` ago."""
    return now() - days * 86400


def group_gaps(questions: Iterable[GapQuestion], embed: Embed) -> list[Gap]:
    """Group the questions by meaning with `embed`; the groups most asked first (then most recently asked)."""
    by_wording: dict[str, list[GapQuestion]] = {}
    for question in questions:  # newest first, so a wording's first sighting is its latest
        by_wording.setdefault(_wording(question.question), []).append(question)
    counts = Counter({wording: len(asked) for wording, asked in by_wording.items()})
    wordings = [wording for wording, _ in counts.most_common()]
    if not wordings:
        return []
    vectors = embed(wordings)  # as normalized: a missing "?" alone moves a wording by up to 0.1
    leaders: list[int] = []  # index of each group's first (most asked) wording
    groups: list[Gap] = []
    for number, wording in enumerate(wordings):
        similarities = [float(vectors[number] @ vectors[leader]) for leader in leaders]
        best = int(np.argmax(similarities)) if similarities else -1
        if best < 0 or similarities[best] < SAME_QUESTION_SIMILARITY:
            leaders.append(number)
            groups.append(Gap(_shown(by_wording[wording])))
            best = len(groups) - 1
        else:
            groups[best].variants.append(_shown(by_wording[wording]))
        for asked in by_wording[wording]:
            groups[best].asked += 1
            groups[best].refused += asked.refused
            groups[best].thumbs_down += asked.thumbs_down > 0
    return sorted(groups, key=lambda gap: -gap.asked)  # stable: ties keep the most asked wording's order


def write_eval_questions(gaps: Sequence[Gap]) -> str:
    """The gaps as a `docbot eval` questions file (JSON lines)."""
    return "".join(json.dumps(gap.to_eval_json(), ensure_ascii=False) + "\n" for gap in gaps)


def _shown(asked: Sequence[GapQuestion]) -> str:
    """How a wording is shown: as it was most often typed (the latest, on a tie)."""
    return Counter(question.question for question in asked).most_common(1)[0][0]


def _wording(question: str) -> str:
    """A question's wording, ignoring case, spacing and the final punctuation."""
    return " ".join(question.casefold().split()).rstrip("?!. ")

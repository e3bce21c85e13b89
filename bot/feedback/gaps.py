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

# Two wordings this similar (cosine, all-MiniLM-L6-v2) ask the same thing. On paraphrases such as
# "How much does a Tesla cost?" / "What is the price of a Tesla?" the model gives 0.8-0.9; on two
# different questions about one topic, 0.4-0.6.
SAME_QUESTION_SIMILARITY = 0.7

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
    vectors = embed([by_wording[w][0].question for w in wordings])
    leaders: list[int] = []  # index of each group's first (most asked) wording
    groups: list[Gap] = []
    for number, wording in enumerate(wordings):
        similarities = [float(vectors[number] @ vectors[leader]) for leader in leaders]
        best = int(np.argmax(similarities)) if similarities else -1
        if best < 0 or similarities[best] < SAME_QUESTION_SIMILARITY:
            leaders.append(number)
            groups.append(Gap(by_wording[wording][0].question))
            best = len(groups) - 1
        else:
            groups[best].variants.append(by_wording[wording][0].question)
        for asked in by_wording[wording]:
            groups[best].asked += 1
            groups[best].refused += asked.refused
            groups[best].thumbs_down += asked.thumbs_down > 0
    return sorted(groups, key=lambda gap: -gap.asked)  # stable: ties keep the most asked wording's order


def write_eval_questions(gaps: Sequence[Gap]) -> str:
    """The gaps as a `docbot eval` questions file (JSON lines)."""
    return "".join(json.dumps(gap.to_eval_json(), ensure_ascii=False) + "\n" for gap in gaps)


def _wording(question: str) -> str:
    """A question's wording, ignoring case, spacing and the final punctuation."""
    return " ".join(question.casefold().split()).rstrip("?!. ")

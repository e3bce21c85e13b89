"""A sentence that says the opposite of what a question asks does not answer it.

Questions written to trip a reader copy a sentence and change one thing in it: they negate it
("What is *not* stated using the big O notation?" over "Upper and lower bounds are usually stated
using the big O notation"), or swap one word for its opposite or another number next to a word
the sentence keeps ("the *formal* notion" over "the informal notion", "*Ten* Eyes" over "Nine
Eyes", "$20 *million*" over "$20 billion"). Every other word matches, so the checks on what the
question asks pass; these two catch them. On ../shared/train (348 unanswerable questions among
4,719) they refuse 19 more unanswerable and 6 more answerable ones.
"""

from __future__ import annotations

import re

from docbot.index.terms import content_words, words

# "not"/"never" negating what the question asks: not "not only ... but" or "whether or not", and not inside a clause
# that only sets its scene ("If Link is not moving, where...", "the reason that teams could not join").
_NEGATION = re.compile(r"(?<!\bor )\b(?:not|never)\b(?!\s+(?:only|just|merely|simply)\b)|n['’]t\b", re.I)
_SCENE_SETTER = re.compile(r"\b(?:if|so|because|that|when|since|unless|although|though|while|reason|why|until)\b", re.I)
# Any way a sentence may say "not": it then may answer a negated question.
_SAYS_NOT = re.compile(
    r"\b(?:not|no|never|none|nor|neither|nobody|nothing|without|cannot|except|exception|excluding|instead"
    r"|rather|other\s+than|lack\w*|absen\w*|fail\w*|den(?:y|ies|ied|ial)|refus\w*|reject\w*|forb[ia]d\w*"
    r"|prohibit\w*|prevent\w*|non-?\w+|un\w+able)\b|n['’]t\b",
    re.I,
)
_OPPOSITES = (
    "increase decrease, increased decreased, increase reduce, minimum maximum, most least, fewest most, "
    "largest smallest, biggest smallest, larger smaller, higher lower, highest lowest, more less, fewer more, "
    "longest shortest, longer shorter, older younger, oldest youngest, early late, earliest latest, best worst, "
    "before after, above below, inside outside, inner outer, upper lower, north south, east west, "
    "northern southern, eastern western, rich poor, richest poorest, strong weak, success failure, "
    "successful unsuccessful, win lose, won lost, victory defeat, accept reject, accepted rejected, rise fall, "
    "gain loss, major minor, positive negative, public private, internal external, ancient modern, "
    "begin end, began ended, start end, started ended, simple complex, easy hard, easy difficult, easier harder, "
    "easiest hardest, import export, "
    "imported exported, open closed, opened closed, allowed forbidden, same different, true false, "
    "support opposition"
)
_PAIRS = [tuple(pair.split()) for pair in _OPPOSITES.split(", ")]
_OPPOSITE = {
    word: {b for a, b in _PAIRS if a == word} | {a for a, b in _PAIRS if b == word} for pair in _PAIRS for word in pair
}
# Words of which a sentence says one and the question another: "the biggest Sunday" / "Saturday".
_ONE_OF = (
    frozenset("monday tuesday wednesday thursday friday saturday sunday".split()),
    frozenset("january february march april may june july august september october november december".split()),
    frozenset("first second third fourth fifth sixth seventh eighth ninth tenth last".split()),
    frozenset("spring summer autumn winter".split()),
    frozenset("prehistoric ancient medieval modern contemporary".split()),
    frozenset("hundred thousand million billion trillion".split()),
)
_NEGATING_PREFIXES = ("un", "in", "im", "il", "ir", "non", "non-", "dis")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate("zero one two three four five six seven eight nine ten eleven twelve".split())
}


def contradicts(question: str, sentence: str, context: str = "") -> bool:
    """Whether `sentence` says the opposite of what `question` asks: it does not negate what the question
    negates, or it (or the `context` before it) has another number or the opposite word beside a word
    both share."""
    if asks_negated(question) and not _SAYS_NOT.search(sentence):
        return True
    return swapped_word(question, f"{context} {sentence}") is not None


def asks_negated(question: str) -> bool:
    """Whether the question asks about what is *not* so ("What is not included...?")."""
    found = _NEGATION.search(question)
    return found is not None and not _SCENE_SETTER.search(question[: found.start()])


def swapped_word(question: str, text: str) -> tuple[str, str] | None:
    """(the question's word, the text's word) where the text has another number, or the opposite, right
    before or after a word the two share ("three integers" / "two integers"); None if there is none."""
    asked = [_normal(w) for w in words(question)]
    said = [_normal(w) for w in words(text)]
    said_pairs = set(zip(said, said[1:], strict=False))
    said_words = set(said)
    shared_words = {w for w in said_words if w.isalpha() and len(w) >= 3 and content_words(w)}
    for first, second in zip(asked, asked[1:], strict=False):
        if (first, second) in said_pairs:
            continue
        for changed, kept, changed_first in ((first, second, True), (second, first, False)):
            # Beside a number only a word may change ("$20 million" / "$20 billion"): "2012-3" is not "2012-13".
            beside_number = kept.isdigit() and kept in said_words and changed.isalpha()
            if (kept not in shared_words and not beside_number) or changed in said_words:
                continue
            beside = (
                {a for a, b in said_pairs if b == kept} if changed_first else {b for a, b in said_pairs if a == kept}
            )
            for other in beside:
                if (other.isdigit() and changed.isdigit()) or _opposite(changed, other):
                    return changed, other
    return None


def _opposite(a: str, b: str) -> bool:
    if b in _OPPOSITE.get(a, ()) or any(a in group and b in group and a != b for group in _ONE_OF):
        return True
    return any((a == p + b and len(b) >= 5) or (b == p + a and len(a) >= 5) for p in _NEGATING_PREFIXES)


def _normal(word: str) -> str:
    """Numbers as digits without separators: "ten" and "10" are one number, "1,200" is "1200"."""
    return _NUMBER_WORDS.get(word, word.replace(",", ""))

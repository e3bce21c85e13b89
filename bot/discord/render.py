"""What docbot says in Discord: answers with a compact sources list, split to fit message limits."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from discord.utils import escape_markdown

from docbot.engine.answer import Answer
from docbot.engine.answer_text import CITATION
from docbot.feedback.gaps import Gap
from docbot.index.builder import BuildReport
from docbot.index.search import Passage

MESSAGE_LIMIT = 2000  # Discord's limit for one message's content
STREAM_CURSOR = " ▌"
SNIPPET_CHARS = 280  # passage text shown per source by /sources
QUOTE_CHARS = 300  # question text quoted above a /ask answer
CHANGES_LISTED = 10  # documents named per kind of change after /reindex
CHANGES_CHARS = 450  # and at most this much of their names, so the reply stays one message
# Break points, best first: paragraph, line, sentence end, any space. None may sit right before a
# citation, so "[n]" always stays in the message of the sentence it supports.
_BREAKS = (r"\n\n", r"\n", r"(?<=[.!?])[ \t]+", r"\s+")
_NOT_BEFORE_CITATION = rf"(?!\s*{CITATION.pattern})"

HELP_TEXT = (
    "**docbot** answers questions from the indexed documents and cites them as [1], [2]...\n"
    "• Mention me with a question, e.g. `@docbot who is the CEO of Microsoft?`;"
    " reply to my answer to ask a follow-up.\n"
    "• `/ask question:` does the same without a mention.\n"
    "• `/sources` shows the passages behind the last answer in this channel.\n"
    "• `/reindex` re-reads the documents; `/add` with a file attached adds one (admins only).\n"
    "• 👍 / 👎 under an answer tell the documents' authors how it did; `/gaps` lists what went unanswered (admins).\n"
    "Answers come from a small local model: check the cited passages before relying on them."
)
THINKING_TEXT = "🔎 Searching the documents…"
BUSY_TEXT = "🚦 I'm answering too many questions right now: please try again in a minute."
ERROR_TEXT = "⚠️ Something went wrong while answering (the details are in the bot's log). Please try again."
MODEL_DOWN_TEXT = "⚠️ The language model is not answering right now: please try again in a minute."
NO_SOURCES_TEXT = "No answer in this channel yet: ask me something first."
NOT_ADMIN_TEXT = "Only members with the Manage Server permission{role} can {action}."
GAPS_UNREADABLE_TEXT = "⚠️ The feedback database cannot be read right now (the bot's log says why)."
GAPS_SHOWN = 10  # groups /gaps lists
GAP_QUESTION_CHARS = 150  # a question's wording shown by /gaps
GAP_VARIANTS_SHOWN = 3  # other wordings shown under it


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, line, sentence or word breaks, never inside "[n]"."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def _cut_point(text: str, limit: int) -> int:
    for number, pattern in enumerate(_BREAKS):
        # Coarse breaks only count in the back part of the window, so no piece is tiny. The whole
        # text is searched so the look-ahead sees a citation that straddles the limit.
        floor = 0 if number == len(_BREAKS) - 1 else limit // 3
        cuts = [m.start() for m in re.finditer(pattern + _NOT_BEFORE_CITATION, text) if floor < m.start() <= limit]
        if cuts:
            return cuts[-1]
    for match in CITATION.finditer(text, 0, limit + 4):
        if match.start() < limit < match.end():
            return match.start()
    return limit


def render_answer(answer: Answer, heading: str = "") -> list[str]:
    """The final answer after `heading`: text with [n] citations, then one small line per cited source."""
    if not answer.answered:
        return split_message(f"{heading}{answer.text}\n-# `/sources` lists the closest passages I found.")
    lines = [heading + answer.text, "", "-# **Sources**"]
    for number in answer.cited:
        if 1 <= number <= len(answer.sources):
            lines.append(f"-# [{number}] {escape_markdown(answer.sources[number - 1].citation())}")
    return split_message("\n".join(lines))


def render_progress(partial: str, limit: int = MESSAGE_LIMIT) -> str:
    """The answer while it is written: its first line or the model's words so far, and a cursor, in one message."""
    room = limit - len(STREAM_CURSOR) - 2
    shown = partial.strip() if len(partial.strip()) <= room else partial.strip()[:room] + " …"
    return (shown or THINKING_TEXT) + STREAM_CURSOR


def render_question(question: str) -> str:
    """The question quoted above a slash-command answer, since Discord does not show it to the channel."""
    return f"> {escape_markdown(textwrap.shorten(question, QUOTE_CHARS, placeholder=' …'))}\n"


def render_position(place: int) -> str:
    """Told to a user whose question waits for the model (place 0: it is being answered)."""
    if place <= 0:
        return THINKING_TEXT
    ahead = "1 question" if place == 1 else f"{place} questions"
    return f"⏳ You're #{place} in line ({ahead} ahead of yours). I'll answer here as soon as it's your turn."


def render_cooldown(seconds: float) -> str:
    return f"🕑 One question at a time, please: try again in {max(1, round(seconds))} s."


def render_sources(passages: Sequence[Passage]) -> list[str]:
    """/sources: each passage behind the last answer, with where it is and a quoted snippet."""
    if not passages:
        return [NO_SOURCES_TEXT]
    blocks = []
    for number, passage in enumerate(passages, start=1):
        snippet = textwrap.shorten(passage.text, SNIPPET_CHARS, placeholder=" …")
        blocks.append(
            f"**[{number}]** {escape_markdown(passage.citation())} (similarity {passage.score:.2f})\n"
            f"> {escape_markdown(snippet)}"
        )
    return split_message("\n\n".join(blocks))


def render_reindexed(report: BuildReport, knowledge_base: str = "") -> str:
    """/reindex's reply: the build's summary, then the documents added, changed and removed, by name."""
    of = f" of `{knowledge_base}`" if knowledge_base else ""
    lines = [f"📚 Documents{of} re-indexed: {report.summary()}. New questions use the new index."]
    for change, names in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        if names:
            listed = ", ".join(names[:CHANGES_LISTED]) + (
                f" and {len(names) - CHANGES_LISTED} more" if len(names) > CHANGES_LISTED else ""
            )
            lines.append(f"-# {change}: {escape_markdown(textwrap.shorten(listed, CHANGES_CHARS, placeholder=' …'))}")
    return "\n".join(lines)


def render_gaps(gaps: Sequence[Gap], knowledge_base: str, days: int) -> list[str]:
    """/gaps: the most asked unanswered questions with their counts, each with a few other wordings."""
    where = f"knowledge base `{escape_markdown(knowledge_base)}`, last {days} days"
    title = f"**Questions the documents did not answer** ({where})"
    if not gaps:
        return [f"{title}\nNone: every recent question got an answer and no 👎."]
    blocks = [title]
    for number, gap in enumerate(gaps[:GAPS_SHOWN], start=1):
        why = ", ".join(part for part in (_count(gap.refused, "refused"), _count(gap.thumbs_down, "👎")) if part)
        lines = [f"**{number}.** {_quoted(gap.question, GAP_QUESTION_CHARS)}: asked {gap.asked}× ({why})"]
        lines += [f"-# also: {_quoted(v, GAP_QUESTION_CHARS // 2)}" for v in gap.variants[:GAP_VARIANTS_SHOWN]]
        if len(gap.variants) > GAP_VARIANTS_SHOWN:
            lines.append(f"-# and {len(gap.variants) - GAP_VARIANTS_SHOWN} more wordings")
        blocks.append("\n".join(lines))
    if len(gaps) > GAPS_SHOWN:
        blocks.append(f"-# {len(gaps) - GAPS_SHOWN} more: `docbot feedback export` writes them all.")
    return split_message("\n\n".join(blocks))


def _count(number: int, what: str) -> str:
    return f"{number} {what}" if number else ""


def _quoted(question: str, chars: int) -> str:
    return f"“{escape_markdown(textwrap.shorten(question, chars, placeholder=' …'))}”"

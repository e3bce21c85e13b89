"""The 👍/👎 buttons under every final answer, and what a press tells the voter (only them).

The buttons are dynamic items: their custom id carries the vote and the answer's id, so discord.py routes a
press to VoteButton by pattern, on any message, after any restart, with no view kept per message.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, cast

import discord

from docbot.discord.stream import NO_PINGS
from docbot.engine.answer import Answer
from docbot.feedback.recorder import FeedbackRecorder
from docbot.feedback.store import AnswerRecord, Vote, VoteResult

VOTE_ID = re.compile(r"docbot:vote:(?P<vote>up|down):(?P<answer>[0-9a-f]{16})")
EMOJI = {Vote.UP: "👍", Vote.DOWN: "👎"}
THANKS = {
    Vote.UP: "👍 Thanks! Glad it helped.",
    Vote.DOWN: "👎 Thanks for saying so: the people who write the documents see such questions in `/gaps`.",
}
NOT_RECORDED_TEXT = "⚠️ Sorry, your feedback was not recorded (the bot's log says why)."


class VoteHost(Protocol):
    """What a press uses of the bot (client.DocbotClient)."""

    feedback: FeedbackRecorder


class VoteButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=VOTE_ID):
    """👍 or 👎 on one answer."""

    def __init__(self, vote: Vote, answer_id: str) -> None:
        custom_id = f"docbot:vote:{vote.value}:{answer_id}"
        super().__init__(discord.ui.Button(style=discord.ButtonStyle.secondary, emoji=EMOJI[vote], custom_id=custom_id))
        self.vote = vote
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> VoteButton:
        return cls(Vote(match["vote"]), match["answer"])

    async def callback(self, interaction: discord.Interaction) -> None:
        host = cast(VoteHost, interaction.client)
        result = await host.feedback.vote(self.answer_id, interaction.user.id, self.vote)
        await interaction.response.send_message(
            acknowledgement(self.vote, result), ephemeral=True, allowed_mentions=NO_PINGS
        )


def vote_buttons(answer_id: str) -> discord.ui.View:
    """The buttons for one answer; they never time out."""
    view = discord.ui.View(timeout=None)
    view.add_item(VoteButton(Vote.UP, answer_id))
    view.add_item(VoteButton(Vote.DOWN, answer_id))
    return view


def acknowledgement(vote: Vote, result: VoteResult | None) -> str:
    """What the voter reads after a press (None: the database failed)."""
    if result is None:
        return NOT_RECORDED_TEXT
    if result is VoteResult.CHANGED:
        return f"Changed your vote to {EMOJI[vote]}."
    if result is VoteResult.SAME:
        return f"You already voted {EMOJI[vote]} on this answer."
    return THANKS[vote]


def answer_record(answer_id: str, answer: Answer, kb: str, channel_id: int) -> AnswerRecord:
    """An answer as the feedback database keeps it: its sources without their text."""
    sources = [
        {key: value for key, value in passage.to_json(number).items() if key != "text"}
        for number, passage in enumerate(answer.sources, start=1)
    ]
    return AnswerRecord(answer_id, answer.question, answer.text, answer.answered, sources, kb, channel_id)

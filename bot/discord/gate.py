"""Which messages and commands the bot takes: the allow lists, the question itself, each user's cooldown.

Mentions (client.py) and /ask (commands.py) pass the same gate, so both front doors behave alike.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from docbot.discord.render import HELP_TEXT, render_cooldown
from docbot.engine.answer import clean_question
from docbot.errors import EmptyQuestionError
from docbot.settings import Settings


def question_in(text: str) -> str:
    """The question in a message or /ask option as the engine reads it; "" if nothing is asked."""
    try:
        return clean_question(text)
    except EmptyQuestionError:
        return ""  # the caller shows the Discord help, not the engine's command-line hint


def places_of(channel: object) -> tuple[tuple[int, ...], int | None]:
    """The ids a channel counts as (its own and, for a thread, its parent's) and its server's id (None in a DM)."""
    ids = (getattr(channel, "id", None), getattr(channel, "parent_id", None))
    guild = getattr(channel, "guild", None)
    guild_id = guild.id if guild is not None else getattr(channel, "guild_id", None)
    return tuple(i for i in ids if i is not None), guild_id


class Gate:
    """Decides where the bot answers and whose question it takes now."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock  # seconds; a test passes its own
        self._asked_at: OrderedDict[int, float] = OrderedDict()  # user id -> when their last question was taken

    def answers_in(self, channel: object, guild_id: int | None) -> bool:
        """Whether the configured allow lists let the bot answer in this channel."""
        if guild_id is None:
            return self.settings.discord_allow_dms
        if self.settings.discord_guild_ids and guild_id not in self.settings.discord_guild_ids:
            return False
        if not self.settings.discord_channel_ids:
            return True
        channel_ids, _ = places_of(channel)
        return bool(set(channel_ids) & set(self.settings.discord_channel_ids))

    def turn_away(self, question: str, user_id: int) -> str | None:
        """The reply for a question not taken (the help when it is empty, or the cooldown); None takes it."""
        if not question:
            return HELP_TEXT
        left = self.cooldown_left(user_id)
        return render_cooldown(left) if left else None

    def cooling_down(self) -> int:
        """How many users the gate remembers: those whose cooldown may not be over yet."""
        return len(self._asked_at)

    def cooldown_left(self, user_id: int) -> float:
        """Seconds until this user may ask again; 0 takes the question and starts their cooldown."""
        now = self._clock()
        cooldown = self.settings.discord_cooldown_seconds
        left = self._asked_at.get(user_id, -1e9) + cooldown - now
        if left > 0:
            return left
        # Oldest first: users whose cooldown is over are forgotten, so this holds only recent askers.
        self._asked_at.pop(user_id, None)
        while self._asked_at and next(iter(self._asked_at.values())) + cooldown <= now:
            self._asked_at.popitem(last=False)
        self._asked_at[user_id] = now
        return 0.0

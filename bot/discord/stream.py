"""An answer's Discord messages: created early, edited in place at a throttled pace as the answer is written."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import discord
from discord.utils import MISSING

from docbot.discord.reconnect import UNREACHABLE, Backoff, describe, retry_while_unreachable
from docbot.discord.render import MESSAGE_LIMIT, THINKING_TEXT, render_progress

log = logging.getLogger("docbot.discord")

T = TypeVar("T")

# While Discord cannot be reached (an outage, the network down) a message waits this long, trying again
# with the bot's back-off, before the answer is given up (and logged as lost).
DELIVERY_GIVE_UP_SECONDS = 600.0

# Never ping anyone, whatever the documents or the question contain.
NO_PINGS = discord.AllowedMentions.none()


class EditableMessage(Protocol):
    id: int

    async def edit(
        self, *, content: str, allowed_mentions: discord.AllowedMentions, view: discord.ui.View = ...
    ) -> object: ...


class Send(Protocol):
    """Posts a message (with buttons, if a view is given) where the answer goes."""

    def __call__(self, text: str, view: discord.ui.View = MISSING) -> Awaitable[EditableMessage]: ...


class StreamingReply:
    """Shows a status or the partial answer in one message, then the final pieces in one or more."""

    def __init__(self, send: Send, edit_interval: float, backoff: Callable[[], Backoff], heading: str = "") -> None:
        """`backoff` paces the tries of a message Discord cannot be reached for (see DELIVERY_GIVE_UP_SECONDS)."""
        self._send = send
        self._backoff = backoff
        self.heading = heading  # shown above every status and the partial answer
        self._edit_interval = edit_interval
        self._message: EditableMessage | None = None
        self._shown = ""
        self._wanted = heading + THINKING_TEXT
        self._partial = ""
        self._last_edit = 0.0
        self._flush: asyncio.Task[None] | None = None
        self._editing = False  # an edit request is in flight (perhaps waiting out a 429)
        self._finishing = False
        self.messages: list[EditableMessage] = []

    async def start(self, view: discord.ui.View = MISSING) -> None:
        """Post the first message at once (the latest status), so the user sees the question was taken."""
        content = self._wanted
        self._message = await self._deliver(lambda: self._send(content, view))
        self.messages.append(self._message)
        self._shown = content
        self._last_edit = time.monotonic()
        if self._wanted != self._shown:  # the status moved on while the message was being posted
            self._schedule_edit()

    def show(self, content: str) -> None:
        """Make the first message read heading + `content` soon; edits closer than the interval are merged."""
        self._wanted = self.heading + content
        self._schedule_edit()

    def add_text(self, piece: str) -> None:
        """One more piece of the streamed answer (called on the event loop)."""
        self._partial += piece
        self.show(render_progress(self._partial, MESSAGE_LIMIT - len(self.heading)))

    async def finish(self, pieces: list[str], view: discord.ui.View = MISSING) -> list[EditableMessage]:
        """Replace the progress with the final pieces: the first edits the message, the rest follow it.

        `view` (buttons) goes under the last piece.
        """
        self._finishing = True
        if self._flush is not None and not self._flush.done():
            if self._editing:
                # Cancelling would drop discord.py's wait on a 429 and send the next edit too early.
                await asyncio.wait([self._flush])
            else:
                self._flush.cancel()
        views = [MISSING] * (len(pieces) - 1) + [view]
        if self._message is None:
            self._wanted = pieces[0]
            await self.start(views[0])
        elif self._shown != pieces[0] or views[0] is not MISSING:
            message = self._message
            await self._deliver(lambda: message.edit(content=pieces[0], allowed_mentions=NO_PINGS, view=views[0]))
            self._shown = pieces[0]
        for piece, piece_view in zip(pieces[1:], views[1:], strict=True):
            self.messages.append(await self._deliver(functools.partial(self._send, piece, piece_view)))
        return self.messages

    async def _deliver(self, request: Callable[[], Awaitable[T]]) -> T:
        """Make a request that must reach Discord, waiting out an outage (see DELIVERY_GIVE_UP_SECONDS)."""
        return await retry_while_unreachable(request, self._backoff(), DELIVERY_GIVE_UP_SECONDS)

    def _schedule_edit(self) -> None:
        if self._flush is None or self._flush.done():
            self._flush = asyncio.get_running_loop().create_task(self._edit_soon())

    async def _edit_soon(self) -> None:
        # Discord allows about five edits per five seconds per channel: stay well below that.
        await asyncio.sleep(max(0.0, self._last_edit + self._edit_interval - time.monotonic()))
        if self._message is None or self._wanted == self._shown or self._finishing:
            return
        content = self._wanted
        self._last_edit = time.monotonic()
        self._editing = True
        try:
            await self._message.edit(content=content, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            # A lost progress edit is harmless: the final edit carries the whole answer.
            log.warning("could not update a streaming answer: %s", exc)
            return
        except UNREACHABLE as exc:
            log.warning("could not update a streaming answer: Discord unreachable (%s)", describe(exc))
            return
        finally:
            self._editing = False
        self._shown = content
        if self._wanted != self._shown and not self._finishing:
            self._flush = asyncio.get_running_loop().create_task(self._edit_soon())  # this task is ending

"""Waiting out a Discord that cannot be reached: capped exponential back-off with jitter, one log line a try.

A bot is a service: started before the network is up (after a boot, in a container, behind a firewall
not yet open) it waits and connects when it can, instead of dying with a traceback. The same delays
pace discord.py's own gateway reconnects (patches.py), whose built-in back-off grows to 17 minutes and
would keep the bot away long after an outage ends. A rejected token is not retried: retrying cannot fix
it (discord.LoginFailure is not among UNREACHABLE).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import discord

from docbot.settings import Settings

log = logging.getLogger("docbot.discord")

T = TypeVar("T")

GROWTH = 2.0  # each failed try doubles the wait, up to the cap
JITTER = 0.5  # a wait is drawn from [(1 - JITTER) x, x]: bots restarted together do not retry in step
QUIET_RESETS_AFTER = 4  # waits of the cap: a failure after this long a calm spell starts again from the first wait

# What "cannot reach Discord" looks like: refused or reset connections, DNS failures, timeouts, and
# Discord's own 5xx answers once discord.py has used up its retries of them.
UNREACHABLE: tuple[type[BaseException], ...] = (
    aiohttp.ClientError,
    OSError,
    asyncio.TimeoutError,
    discord.DiscordServerError,
    discord.GatewayNotFound,
)


class Backoff:
    """The waits between tries: from `first_seconds`, doubling to at most `max_seconds`, jittered."""

    def __init__(self, first_seconds: float, max_seconds: float, rng: random.Random | None = None) -> None:
        self.first_seconds = first_seconds
        self.max_seconds = max(first_seconds, max_seconds)
        self._random = rng or random.Random()
        self._tries = 0
        self._last = time.monotonic()

    @classmethod
    def for_settings(cls, settings: Settings) -> Backoff:
        """The back-off `discord_retry_seconds` and `discord_retry_max_seconds` describe."""
        return cls(settings.discord_retry_seconds, settings.discord_retry_max_seconds)

    def delay(self) -> float:
        """The next wait in seconds (the method discord.py's connect loop calls)."""
        now = time.monotonic()
        if now - self._last > QUIET_RESETS_AFTER * self.max_seconds:
            self._tries = 0
        self._last = now
        ceiling = min(self.max_seconds, self.first_seconds * GROWTH**self._tries)
        self._tries += 1
        return ceiling * self._random.uniform(1 - JITTER, 1)


def describe(exc: BaseException) -> str:
    """Why Discord could not be reached, in a few words: "connection refused", "HTTP 503", "timed out"."""
    if isinstance(exc, discord.HTTPException):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "name not resolved"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "connection lost"
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
        return "timed out"
    if isinstance(exc, discord.ConnectionClosed):
        return f"connection closed with code {exc.code}"
    errno = getattr(exc, "errno", None)
    if errno:
        return os.strerror(errno).lower()
    return type(exc).__name__


async def retry_while_unreachable(
    attempt: Callable[[], Awaitable[T]], backoff: Backoff, give_up_after: float | None = None
) -> T:
    """Await `attempt()` until it does not fail to reach Discord; one warning per failed try, with the wait.

    After `give_up_after` seconds (None: never) the last failure escapes. Other errors (a rejected token)
    escape at once; cancelling (Ctrl+C, SIGTERM) ends the wait at once.
    """
    deadline = None if give_up_after is None else time.monotonic() + give_up_after
    while True:
        try:
            return await attempt()
        except UNREACHABLE as exc:
            delay = backoff.delay()
            if deadline is not None and time.monotonic() + delay > deadline:
                raise
            log.warning("Discord unreachable (%s); retrying in %.1f s", describe(exc), delay)
            await asyncio.sleep(delay)

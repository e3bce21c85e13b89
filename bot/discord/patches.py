"""What docbot changes in discord.py for the whole process: done once, as the bot starts.

discord.py keeps these settings in class attributes and module globals shared by every client in the
process, so they are set here, in one named place, before the first client is made (run_discord; the
tests' harness), and not hidden in a constructor or a login.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import aiohttp
import discord
import discord.client
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from docbot.discord.reconnect import Backoff, describe

log = logging.getLogger("docbot.discord")

# discord.py's connect loop logs this, with a full traceback, before each gateway reconnect.
_RECONNECT_MESSAGE = "Attempting a reconnect in %.2fs"


async def patch_discord_py(api_base: str, token: str, backoff: Callable[[], Backoff] | None = None) -> None:
    """Quiet discord.py's noise, pace its gateway reconnects with `backoff`, and send every call to `api_base`.

    docbot never joins voice, so discord.py's warnings about missing voice libraries are noise; its
    traceback on each gateway reconnect becomes one line (ReconnectLogFilter). `backoff` makes the
    waits between reconnects (capped: discord.py's own grow to 17 minutes).
    `api_base` names another Discord-compatible server (the tests' fake, a self-hosted one):
    Route.BASE carries every REST and webhook call to it, and a plain Client, which would connect
    to Discord's gateway, takes the gateway that server names instead. Looking that gateway up raises
    one of reconnect.UNREACHABLE when the server cannot be reached (run_discord retries).
    """
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    reconnects = logging.getLogger("discord.client")
    if not any(isinstance(f, ReconnectLogFilter) for f in reconnects.filters):
        reconnects.addFilter(ReconnectLogFilter())
    if backoff is not None:
        discord.client.ExponentialBackoff = backoff  # type: ignore[misc,assignment]  # called as ExponentialBackoff()
    if not api_base:
        return
    Route.BASE = api_base.rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    async with aiohttp.ClientSession() as session, session.get(f"{Route.BASE}/gateway/bot", headers=headers) as reply:
        if reply.status >= 500:
            reply.raise_for_status()  # Discord-side trouble: worth another try
        if reply.status != 200:
            # Login, next, says what is wrong (most often a rejected token).
            log.warning("%s/gateway/bot answered HTTP %s", Route.BASE, reply.status)
            return
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL((await reply.json())["url"])


class ReconnectLogFilter(logging.Filter):
    """Turns discord.py's reconnect traceback into one warning: why the gateway was lost, and the wait."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _RECONNECT_MESSAGE and record.args:
            reason = describe(record.exc_info[1]) if record.exc_info and record.exc_info[1] else "unknown"
            delay = record.args[0] if isinstance(record.args, tuple) else record.args
            record.msg, record.args = "Discord gateway unreachable (%s); reconnecting in %.1f s", (reason, delay)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        return True

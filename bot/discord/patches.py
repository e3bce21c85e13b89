"""What docbot changes in discord.py for the whole process: done once, as the bot starts.

discord.py keeps these settings in class attributes shared by every client in the process, so
they are set here, in one named place, before the first client is made (run_discord; the tests'
harness), and not hidden in a constructor or a login.
"""

from __future__ import annotations

import logging

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger("docbot.discord")


async def patch_discord_py(api_base: str, token: str) -> None:
    """Quiet the voice warnings and, given `api_base`, send every REST, webhook and gateway call there.

    docbot never joins voice, so discord.py's warnings about missing voice libraries are noise.
    `api_base` names another Discord-compatible server (the tests' fake, a self-hosted one):
    Route.BASE carries every REST and webhook call to it, and a plain Client, which would connect
    to Discord's gateway, takes the gateway that server names instead.
    """
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
    if not api_base:
        return
    Route.BASE = api_base.rstrip("/")
    headers = {"Authorization": f"Bot {token}"}
    async with aiohttp.ClientSession() as session, session.get(f"{Route.BASE}/gateway/bot", headers=headers) as reply:
        if reply.status != 200:
            # Login, next, says what is wrong (most often a rejected token).
            log.warning("%s/gateway/bot answered HTTP %s", Route.BASE, reply.status)
            return
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL((await reply.json())["url"])

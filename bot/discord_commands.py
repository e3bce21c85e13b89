"""docbot's slash commands: /ask, /sources, /reindex and /help."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.answer_queue import QueueFullError
from bot.discord_bot import question_in
from bot.discord_render import (
    BUSY_TEXT,
    ERROR_TEXT,
    HELP_TEXT,
    NOT_ADMIN_TEXT,
    render_cooldown,
    render_question,
    render_reindexed,
    render_sources,
)
from bot.discord_stream import NO_PINGS
from bot.errors import DocbotError

if TYPE_CHECKING:
    from bot.discord_bot import DocbotClient

log = logging.getLogger("docbot.discord")
NOT_HERE_TEXT = "I don't answer in this channel."


def add_commands(client: DocbotClient) -> None:
    """Register the slash commands on the client's command tree."""
    tree = client.tree

    @tree.command(name="ask", description="Ask a question about the documents")
    @app_commands.describe(question="What do you want to know?")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        if not client.answers_in(interaction.channel, interaction.guild_id):
            await _tell(interaction, NOT_HERE_TEXT)
            return
        question = question_in(question)
        if not question:
            await _tell(interaction, HELP_TEXT)
            return
        left = client.cooldown_left(interaction.user.id)
        if left:
            await _tell(interaction, render_cooldown(left))
            return
        await interaction.response.defer(thinking=True)  # Discord's 3-second deadline

        async def send(text: str) -> discord.WebhookMessage:
            return await interaction.followup.send(text, wait=True, allowed_mentions=NO_PINGS)

        await client.answer(send, question, interaction.channel_id or 0, heading=render_question(question))

    @tree.command(name="sources", description="Show the passages behind the last answer in this channel")
    async def sources(interaction: discord.Interaction) -> None:
        answer = client.last_answers.get(interaction.channel_id or 0)
        pieces = render_sources(answer.sources if answer else [])
        await interaction.response.send_message(pieces[0], ephemeral=True, allowed_mentions=NO_PINGS)
        for piece in pieces[1:]:
            await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_PINGS)

    @tree.command(name="reindex", description="Re-read the documents and answer from the new index (admins)")
    async def reindex(interaction: discord.Interaction) -> None:
        if not _may_reindex(interaction, client.settings.discord_admin_role):
            role = f" or the {client.settings.discord_admin_role} role" if client.settings.discord_admin_role else ""
            await _tell(interaction, NOT_ADMIN_TEXT.format(role=role))
            return
        await interaction.response.defer(thinking=True)
        try:
            report = await client.reindex()
        except QueueFullError:
            text = BUSY_TEXT
        except DocbotError as exc:
            text = f"⚠️ Re-indexing failed: {exc}"
        else:
            text = render_reindexed(report.summary())
            log.info("re-indexed by %s: %s", interaction.user.id, report.summary())
        await interaction.followup.send(text, allowed_mentions=NO_PINGS)

    @tree.command(name="help", description="How to ask docbot about the documents")
    async def help_(interaction: discord.Interaction) -> None:
        await _tell(interaction, HELP_TEXT)

    @tree.error
    async def on_command_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        log.error("slash command %s failed", interaction.command and interaction.command.name, exc_info=error)
        if interaction.response.is_done():
            await interaction.followup.send(ERROR_TEXT, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await _tell(interaction, ERROR_TEXT)


def _may_reindex(interaction: discord.Interaction, admin_role: str) -> bool:
    """Members with Manage Server, or the configured role (by name or id), may rebuild the index."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False  # not in a server (a DM)
    if interaction.permissions.manage_guild:
        return True
    return bool(admin_role) and any(admin_role in (role.name, str(role.id)) for role in member.roles)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    """A short reply only the user who asked can see."""
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

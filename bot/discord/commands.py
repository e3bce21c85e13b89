"""docbot's slash commands: /ask, /sources, /reindex, /add, /gaps and /help."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import discord
from discord import app_commands
from discord.utils import MISSING

from docbot.discord.add_document import add_attachment
from docbot.discord.answer_queue import QueueFullError
from docbot.discord.gate import Gate, question_in
from docbot.discord.render import (
    BUSY_TEXT,
    ERROR_TEXT,
    GAPS_UNREADABLE_TEXT,
    HELP_TEXT,
    NOT_ADMIN_TEXT,
    render_gaps,
    render_question,
    render_reindexed,
    render_sources,
)
from docbot.discord.stream import NO_PINGS, Send
from docbot.engine.answer import Answer
from docbot.errors import DocbotError
from docbot.feedback.gaps import Gap
from docbot.index.builder import BuildReport
from docbot.live_index import LiveIndex
from docbot.settings import Settings

log = logging.getLogger("docbot.discord")
NOT_HERE_TEXT = "I don't answer in this channel."


class CommandHost(Protocol):
    """What the slash commands use of the bot (client.DocbotClient)."""

    settings: Settings
    gate: Gate
    tree: app_commands.CommandTree[Any]
    last_answers: dict[int, Answer]

    def knowledge_base_for(self, channel: object) -> str: ...

    async def answer(
        self,
        send: Send,
        question: str,
        channel_id: int,
        parent: int | None = None,
        heading: str = "",
        knowledge_base: str = ...,
    ) -> Answer | None: ...

    async def reindex(self, knowledge_base: str = ...) -> BuildReport: ...

    def live_index(self, knowledge_base: str) -> LiveIndex: ...

    async def gaps(self, knowledge_base: str) -> list[Gap] | None: ...


def add_commands(client: CommandHost) -> None:
    """Register the slash commands on the client's command tree."""
    tree = client.tree

    @tree.command(name="ask", description="Ask a question about the documents")
    @app_commands.describe(question="What do you want to know?")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        if not client.gate.answers_in(interaction.channel, interaction.guild_id):
            await _tell(interaction, NOT_HERE_TEXT)
            return
        question = question_in(question)
        turned_away = client.gate.turn_away(question, interaction.user.id)
        if turned_away:
            await _tell(interaction, turned_away)
            return
        await interaction.response.defer(thinking=True)  # Discord's 3-second deadline

        async def send(text: str, view: discord.ui.View = MISSING) -> discord.WebhookMessage:
            return await interaction.followup.send(text, wait=True, allowed_mentions=NO_PINGS, view=view)

        knowledge_base = client.knowledge_base_for(interaction.channel)
        heading = render_question(question)
        await client.answer(send, question, interaction.channel_id or 0, heading=heading, knowledge_base=knowledge_base)

    @tree.command(name="sources", description="Show the passages behind the last answer in this channel")
    async def sources(interaction: discord.Interaction) -> None:
        answer = client.last_answers.get(interaction.channel_id or 0)
        pieces = render_sources(answer.sources if answer else [])
        await interaction.response.send_message(pieces[0], ephemeral=True, allowed_mentions=NO_PINGS)
        for piece in pieces[1:]:
            await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_PINGS)

    @tree.command(name="reindex", description="Re-read the documents and answer from the new index (admins)")
    async def reindex(interaction: discord.Interaction) -> None:
        if not await _moderator(interaction, client.settings.discord_admin_role, "re-index or add documents"):
            return
        await interaction.response.defer(thinking=True)
        knowledge_base = client.knowledge_base_for(interaction.channel)
        try:
            report = await client.reindex(knowledge_base)
        except DocbotError as exc:
            text = f"⚠️ Re-indexing failed: {exc}"
        else:
            named = knowledge_base if len(client.settings.knowledge_base_names()) > 1 else ""
            text = render_reindexed(report, named)
            log.info("knowledge base %s re-indexed by %s: %s", knowledge_base, interaction.user.id, report.summary())
        await interaction.followup.send(text, allowed_mentions=NO_PINGS)

    @tree.command(name="add", description="Add the attached document to the ones I answer from (admins)")
    @app_commands.describe(file="A document to add", replace="Replace a document of the same name")
    async def add(interaction: discord.Interaction, file: discord.Attachment, replace: bool = False) -> None:
        if not await _moderator(interaction, client.settings.discord_admin_role, "re-index or add documents"):
            return
        await interaction.response.defer(thinking=True)
        try:
            live = client.live_index(client.knowledge_base_for(interaction.channel))
        except DocbotError as exc:  # the channel's knowledge base is disabled, or the models still load
            text = f"⚠️ {exc}"
        else:
            text = await add_attachment(live, file, replace, client.settings)
        await interaction.followup.send(text, allowed_mentions=NO_PINGS)

    @tree.command(name="gaps", description="The recent questions the documents did not answer (admins)")
    async def gaps(interaction: discord.Interaction) -> None:
        if not await _moderator(interaction, client.settings.discord_admin_role, "see the gaps"):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        knowledge_base = client.knowledge_base_for(interaction.channel)
        try:
            found = await client.gaps(knowledge_base)
        except QueueFullError:
            pieces = [BUSY_TEXT]
        except DocbotError as exc:  # the channel's knowledge base is disabled, or the models still load
            pieces = [f"⚠️ {exc}"]
        else:
            days = client.settings.gaps_days
            pieces = [GAPS_UNREADABLE_TEXT] if found is None else render_gaps(found, knowledge_base, days)
        for piece in pieces:
            await interaction.followup.send(piece, ephemeral=True, allowed_mentions=NO_PINGS)

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


async def _moderator(interaction: discord.Interaction, admin_role: str, action: str) -> bool:
    """Whether the user may change the documents or see the gaps; if not, they are told who may `action`."""
    if _may_reindex(interaction, admin_role):
        return True
    role = f" or the {admin_role} role" if admin_role else ""
    await _tell(interaction, NOT_ADMIN_TEXT.format(role=role, action=action))
    return False


def _may_reindex(interaction: discord.Interaction, admin_role: str) -> bool:
    """Members with Manage Server, or the configured role (by name or id), may rebuild the index, add to it
    and see the gaps."""
    member = interaction.user
    if not isinstance(member, discord.Member):
        return False  # not in a server (a DM)
    if interaction.permissions.manage_guild:
        return True
    return bool(admin_role) and any(admin_role in (role.name, str(role.id)) for role in member.roles)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    """A short reply only the user who asked can see."""
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

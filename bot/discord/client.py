"""`docbot discord`: a Discord bot that answers mentions and slash commands from the indexed documents.

Thin front end: an event becomes `engine.answer(question)` on the answer queue's worker thread, and
the streamed answer is shown by editing one message. Slash commands live in commands.py; both pass
the same gate (gate.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.utils import MISSING

from docbot.components import make_feedback_store
from docbot.discord.add_document import allowed_types
from docbot.discord.answer_queue import AnswerQueue, QueueFullError
from docbot.discord.commands import add_commands
from docbot.discord.gate import Gate, places_of, question_in
from docbot.discord.log_redaction import redact_logs
from docbot.discord.patches import patch_discord_py
from docbot.discord.reconnect import UNREACHABLE, Backoff, describe, retry_while_unreachable
from docbot.discord.render import BUSY_TEXT, ERROR_TEXT, MODEL_DOWN_TEXT, render_answer, render_position
from docbot.discord.stream import NO_PINGS, Send, StreamingReply
from docbot.discord.votes import VoteButton, answer_record, vote_buttons
from docbot.engine.answer import Answer, Engine
from docbot.engine.prompt import Exchange
from docbot.errors import DocbotError, ModelServerError
from docbot.feedback.gaps import Gap, group_gaps, since
from docbot.feedback.recorder import FeedbackRecorder
from docbot.feedback.store import new_answer_id
from docbot.index.builder import BuildReport
from docbot.knowledge_base_config import DEFAULT_KNOWLEDGE_BASE, knowledge_base_for
from docbot.knowledge_bases import KnowledgeBases
from docbot.live_index import LiveIndex
from docbot.settings import Settings

log = logging.getLogger("docbot.discord")

MAX_CHAIN = 3  # earlier exchanges a reply chain brings into a follow-up question
REMEMBERED_ANSWERS = 500  # answer messages kept in memory for reply chains
THREAD_NAME_CHARS = 90  # Discord allows 100
WATCH_STOP_SECONDS = 5.0  # longest wait, when the bot stops, for the corpus watch to end


class DiscordLoginError(DocbotError):
    """Discord rejected the bot token, or none is configured."""


class DiscordIntentError(DocbotError):
    """The Message Content intent is not enabled for the bot in the Developer Portal."""


@dataclass(frozen=True)
class ChainLink:
    """One answered question, and the answer message it followed up on, if any."""

    exchange: Exchange
    parent: int | None  # message id of the earlier answer this one replied to


class DocbotClient(discord.Client):
    """The bot: gates events by channel, user and queue, then streams cited answers from the channel's
    knowledge base."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine | None = None,
        knowledge_bases: KnowledgeBases | None = None,
        feedback: FeedbackRecorder | None = None,
    ) -> None:
        """Give the knowledge bases already loaded, or one engine (the default knowledge base alone), or
        neither: `serve` then loads every configured knowledge base. `feedback` defaults to the configured
        database."""
        intents = discord.Intents.default()
        intents.message_content = True  # to read the question in a mention
        super().__init__(intents=intents, allowed_mentions=NO_PINGS)
        self.settings = settings
        if knowledge_bases is None and engine is not None:
            knowledge_bases = KnowledgeBases.of_engine(settings, engine)
        self.knowledge_bases = knowledge_bases
        self._owns_models = False  # models given by the caller are theirs to close
        self.queue = AnswerQueue(settings.discord_queue_size)
        self.gate = Gate(settings)
        self.tree = app_commands.CommandTree(self)
        self.last_answers: dict[int, Answer] = {}  # channel id -> last answer there, for /sources
        self._chain: OrderedDict[int, ChainLink] = OrderedDict()  # answer message id -> link
        self._stop_watching = threading.Event()
        self._watching: list[threading.Thread] = []
        self.feedback = feedback or FeedbackRecorder(make_feedback_store(settings))
        add_commands(self)

    async def serve(self, token: str) -> None:
        """Log in (waiting for Discord to be reachable), load the models unless given, then answer until closed."""
        redact_logs(token)
        await retry_while_unreachable(lambda: self._log_in(token), self._backoff())
        if self.knowledge_bases is None:
            names = self.settings.knowledge_base_names()
            log.info("loading the models and %s", "the index" if len(names) == 1 else f"{len(names)} knowledge bases")
            self.knowledge_bases = await asyncio.to_thread(KnowledgeBases.load, self.settings)
            self._owns_models = True
        if self.settings.watch:
            for live in self.knowledge_bases.enabled():
                await self._start_watching(live)
        try:
            await self.connect()
        except discord.PrivilegedIntentsRequired:
            raise DiscordIntentError(
                "enable the Message Content intent for the bot in the Discord Developer Portal (see README › Discord)"
            ) from None

    def _backoff(self) -> Backoff:
        return Backoff.for_settings(self.settings)

    async def _log_in(self, token: str) -> None:
        try:
            await self.login(token)
        except discord.LoginFailure:
            raise DiscordLoginError("Discord rejected the bot token: check DISCORD_TOKEN (README › Discord)") from None
        except UNREACHABLE:
            # Each login opens a new HTTP session on discord.py's connector: close both, so the next try
            # starts clean instead of leaking a session per failed try.
            await self.http.close()
            self.http.connector = discord.utils.MISSING
            raise

    async def setup_hook(self) -> None:
        self.add_dynamic_items(VoteButton)  # the buttons of every answer ever sent, this run's or earlier
        if self.settings.discord_guild_ids:
            for guild_id in self.settings.discord_guild_ids:
                guild = discord.Object(guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_ready(self) -> None:
        log.info("connected as %s (id %s) to %d server(s)", self.user, self.user and self.user.id, len(self.guilds))

    async def close(self) -> None:
        self._stop_watching.set()
        for watching in self._watching:
            # An idle watch stops within a second. A rebuild under way is not waited for: it ends with the
            # process, and the store's atomic swap leaves the previous index whole.
            await asyncio.to_thread(watching.join, WATCH_STOP_SECONDS)
        await self.queue.close()
        await self.feedback.close()
        if self._owns_models and self.knowledge_bases:
            self.knowledge_bases.close()
        await super().close()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or message.author.id == self.user.id:
            return
        if not self.gate.answers_in(message.channel, message.guild.id if message.guild else None):
            return
        parent = self._replied_answer(message)
        mentioned = any(user.id == self.user.id for user in message.mentions)
        if message.guild is not None and not mentioned and parent is None:
            return
        question = question_in(re.sub(rf"<@!?{self.user.id}>", " ", message.content))
        try:
            await self._respond(message, question, parent)
        except discord.HTTPException as exc:
            log_refused_reply(exc, message.channel.id, question)
        except UNREACHABLE as exc:  # lost before the answer began (the typing indicator, a thread)
            log_lost_reply(exc, message.channel.id, question)

    async def _respond(self, message: discord.Message, question: str, parent: int | None) -> None:
        """Reply to a message for the bot: the help, a cooldown notice, or the streamed answer."""
        turned_away = self.gate.turn_away(question, message.author.id)
        if turned_away:
            await message.reply(turned_away, mention_author=False, allowed_mentions=NO_PINGS)
            return
        try:
            send = await self._reply_target(message, question)
        except discord.HTTPException:
            log.warning("could not start a thread; answering in the channel", exc_info=True)
            send = self._plain_reply(message)
        async with message.channel.typing():
            knowledge_base = self.knowledge_base_for(message.channel)
            await self.answer(send, question, message.channel.id, parent, knowledge_base=knowledge_base)

    def knowledge_base_for(self, channel: object) -> str:
        """The name of the knowledge base that answers in `channel` (a thread: its parent's); "default" when
        neither the channel nor its server is mapped to one."""
        channel_ids, guild_id = places_of(channel)
        return knowledge_base_for(self.settings.knowledge_bases, channel_ids, guild_id)

    async def answer(
        self,
        send: Send,
        question: str,
        channel_id: int,
        parent: int | None = None,
        heading: str = "",
        knowledge_base: str = DEFAULT_KNOWLEDGE_BASE,
    ) -> Answer | None:
        """Stream the answer to `question` from `knowledge_base` into messages made by `send`; every failure
        gets a short reply.

        If Discord refuses the reply itself (no permission in the channel, an outage), that is logged once
        and the bot goes on to the next question.
        """
        try:
            return await self._stream_answer(send, question, channel_id, parent, heading, knowledge_base)
        except discord.HTTPException as exc:
            log_refused_reply(exc, channel_id, question)
        except UNREACHABLE as exc:  # for longer than stream.DELIVERY_GIVE_UP_SECONDS
            log_lost_reply(exc, channel_id, question)
        return None

    async def _stream_answer(
        self, send: Send, question: str, channel_id: int, parent: int | None, heading: str, knowledge_base: str
    ) -> Answer | None:
        reply = StreamingReply(send, self.settings.discord_edit_seconds, self._backoff, heading)
        loop = asyncio.get_running_loop()
        history = self._history(parent)
        try:
            self._engine(knowledge_base)  # a disabled knowledge base is told at once, without waiting in line
        except DocbotError as exc:
            await reply.finish([f"{heading}⚠️ {exc}"])
            return None

        def work() -> Answer:
            engine = self._engine(knowledge_base)
            return engine.answer(
                question, on_text=lambda piece: loop.call_soon_threadsafe(reply.add_text, piece), history=history
            )

        try:
            done = self.queue.submit(work, on_position=lambda place: reply.show(render_position(place)))
        except QueueFullError:
            await reply.finish([heading + BUSY_TEXT])
            return None
        try:
            await reply.start()  # shows the place in line, or the answer so far if it already started
        except BaseException:  # refused, unreachable for too long, or the bot stopping
            done.cancel()  # no one would see this answer: a waiting job is dropped
            raise
        try:
            answer = await done
        except ModelServerError as exc:  # its message names the server: for the log, not for users
            log.error("answering %r failed: %s", question[:80], exc)
            await reply.finish([heading + MODEL_DOWN_TEXT])
            return None
        except DocbotError as exc:
            await reply.finish([f"{heading}⚠️ {exc}"])
            return None
        except Exception:  # the user must hear about any failure; the log keeps the detail
            log.exception("answering %r failed", question)
            await reply.finish([heading + ERROR_TEXT])
            return None
        answer_id = new_answer_id()
        # Queued on the feedback thread before anyone can see the buttons, so it is written before any vote.
        self.feedback.record_answer(answer_record(answer_id, answer, knowledge_base, channel_id))
        messages = await reply.finish(render_answer(answer, heading), vote_buttons(answer_id))
        self.last_answers[channel_id] = answer
        self._remember(messages, ChainLink(Exchange(answer.question, answer.text), parent))
        took = answer.timings["retrieve_ms"] + answer.timings["generate_ms"]
        log.info("answered in %.0f ms: %r", took, question[:80])
        return answer

    async def reindex(self, knowledge_base: str = DEFAULT_KNOWLEDGE_BASE) -> BuildReport:
        """Rebuild one knowledge base's index off the event loop while answers go on, then answer from it:
        no restart, no gap, the other knowledge bases untouched."""
        return await asyncio.to_thread(self._knowledge_bases().reindex, knowledge_base)

    def live_index(self, knowledge_base: str) -> LiveIndex:
        """The corpus, index and engine of a knowledge base: what /reindex, /add and the watch change."""
        return self._knowledge_bases().live(knowledge_base)

    async def _start_watching(self, live: LiveIndex) -> None:
        """Keep one knowledge base's index current as its files change (`watch = true`), on a thread of its own."""
        started = asyncio.Event()
        loop = asyncio.get_running_loop()

        def ready() -> None:
            loop.call_soon_threadsafe(started.set)

        def watch() -> None:
            try:
                live.watch(self._stop_watching, ready)
            except OSError as exc:  # the corpus folder gone or unwatchable: answers go on, unwatched
                log.error("cannot watch %s for changes: %s", live.corpus, exc)
            finally:
                ready()  # also when the watch could not start, so the bot does not wait for it

        watching = threading.Thread(target=watch, name="docbot-watch", daemon=True)
        watching.start()
        self._watching.append(watching)
        await started.wait()  # a change made once the bot is online is never missed

    async def gaps(self, knowledge_base: str) -> list[Gap] | None:
        """The recent questions a knowledge base did not answer, grouped; None if the database failed."""
        embedder = self._engine(knowledge_base).retriever.embedder  # a disabled one is told at once
        questions = await self.feedback.gap_questions(knowledge_base, since(self.settings.gaps_days))
        if questions is None:
            return None
        return await self.queue.run(lambda: group_gaps(questions, embedder.embed_queries))  # the embedder's thread

    def _knowledge_bases(self) -> KnowledgeBases:
        if self.knowledge_bases is None:
            raise DocbotError("the models are still loading: try again in a moment")
        return self.knowledge_bases

    def _engine(self, knowledge_base: str) -> Engine:
        return self._knowledge_bases().engine(knowledge_base)

    def _replied_answer(self, message: discord.Message) -> int | None:
        """The id of the bot's answer this message replies to, if it does."""
        resolved = message.reference and message.reference.resolved
        if isinstance(resolved, discord.Message) and self.user and resolved.author.id == self.user.id:
            return resolved.id
        return None

    def _history(self, parent: int | None) -> list[Exchange]:
        """The exchanges of a reply chain, oldest first, at most MAX_CHAIN."""
        exchanges: list[Exchange] = []
        while parent is not None and parent in self._chain and len(exchanges) < MAX_CHAIN:
            link = self._chain[parent]
            exchanges.append(link.exchange)
            parent = link.parent
        return exchanges[::-1]

    def _remember(self, messages: list, link: ChainLink) -> None:
        for message in messages:
            self._chain[message.id] = link
        while len(self._chain) > REMEMBERED_ANSWERS:
            self._chain.popitem(last=False)

    async def _reply_target(self, message: discord.Message, question: str) -> Send:
        """Where the answer goes: a reply to the question, or a new thread when configured."""
        if self.settings.discord_threads and isinstance(message.channel, discord.TextChannel):
            thread = await message.create_thread(name=question[:THREAD_NAME_CHARS])
            return lambda text, view=MISSING: thread.send(text, allowed_mentions=NO_PINGS, view=view)
        return self._plain_reply(message)

    @staticmethod
    def _plain_reply(message: discord.Message) -> Send:
        def send(text: str, view: discord.ui.View = MISSING) -> Awaitable[discord.Message]:
            return message.reply(text, mention_author=False, allowed_mentions=NO_PINGS, view=view)

        return send


def log_refused_reply(exc: discord.HTTPException, channel_id: int | None, question: str) -> None:
    """One log line for a reply Discord refused: the channel, the HTTP status and Discord's own error."""
    log.error("could not reply in channel %s: %s (question %r)", channel_id, exc, question[:80])


def log_lost_reply(exc: BaseException, channel_id: int | None, question: str) -> None:
    """One log line for a reply that could not reach Discord (the network or Discord down)."""
    log.error(
        "could not reply in channel %s: Discord unreachable (%s) (question %r)",
        channel_id,
        describe(exc),
        question[:80],
    )


def run_discord(settings: Settings) -> None:
    """Run the bot until SIGINT or SIGTERM; a missing or rejected token raises DiscordLoginError."""
    allowed_types(settings)  # a wrong add_types is one error line now, not after connecting
    token = settings.discord_token.strip()
    if not token:
        raise DiscordLoginError("no Discord bot token: set DISCORD_TOKEN or [discord] token in the config file")
    asyncio.run(_run_until_signal(settings, token))


async def _run_until_signal(settings: Settings, token: str) -> None:
    serving = asyncio.create_task(_serve(settings, token))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Cancelling stops whatever the bot is doing at once (a wait for the network included); the
        # client closes on the way out.
        loop.add_signal_handler(signum, serving.cancel)
    await asyncio.wait({serving})
    if not serving.cancelled():
        serving.result()  # a rejected token, a missing intent: raised for the command line to report
    log.info("stopped")


async def _serve(settings: Settings, token: str) -> None:
    def backoff() -> Backoff:
        return Backoff.for_settings(settings)

    await retry_while_unreachable(lambda: patch_discord_py(settings.discord_api_base, token, backoff), backoff())
    async with DocbotClient(settings) as client:
        await client.serve(token)

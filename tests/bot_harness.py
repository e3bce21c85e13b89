"""Run the real discord.py bot in this process against the fake Discord server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

from docbot.components import build_engine, index_corpus, open_retriever
from docbot.discord.client import DocbotClient
from docbot.discord.patches import patch_discord_py
from docbot.discord.reconnect import Backoff
from docbot.engine.answer import Engine
from docbot.engine.llm import LanguageModel, Message
from docbot.knowledge_bases import KnowledgeBases
from docbot.settings import Settings
from tests.conftest import REPO
from tests.discord_payloads import GUILD_ID
from tests.fake_discord import TOKEN, FakeDiscord, Posted


def bot_settings(corpus: Path, index_dir: Path, **changes: object) -> Settings:
    """Settings for a test bot: fast edits and reconnects, no cooldown, commands synced to the test server,
    feedback kept beside the index folder."""
    base = Settings(
        corpus=corpus,
        index_dir=index_dir,
        feedback_db=index_dir.parent / "feedback.sqlite3",
        discord_guild_ids=(GUILD_ID,),
        discord_cooldown_seconds=0,
        discord_edit_seconds=0.3,
        discord_retry_seconds=0.2,  # quick reconnects after a fault the test injects
        discord_retry_max_seconds=1.0,
        threads=2,
    )
    return base.replace(**changes)


def build_test_engine(settings: Settings, embedder, llm, index: bool = True) -> Engine:
    """The real engine over `settings.corpus`, reusing the session's loaded models."""
    if index:
        index_corpus(settings, embedder)
    return build_engine(settings, open_retriever(settings, embedder), llm)


class HeldModel:
    """The real model, held by the test: what it writes does not depend on how fast the machine is.

    Each answer stops after `pieces_first` pieces until the test opens `gate` (`held` tells it one is
    waiting there), and takes at least `min_seconds` in all.
    """

    def __init__(self, model: LanguageModel, pieces_first: int = 0, min_seconds: float = 0.0) -> None:
        self.model = model
        self.name = model.name
        self.pieces_first = pieces_first
        self.min_seconds = min_seconds
        self.gate = threading.Event()
        self.held = threading.Event()

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        started = time.monotonic()
        with closing(self.model.stream(messages, max_tokens, temperature)) as pieces:  # type: ignore[type-var]
            for number, piece in enumerate(pieces):
                if number == self.pieces_first:
                    self.held.set()
                    if not self.gate.wait(timeout=300):
                        raise TimeoutError("the test never opened the model's gate")
                yield piece
        time.sleep(max(0.0, self.min_seconds - (time.monotonic() - started)))

    def close(self) -> None:
        """Nothing to release: the model underneath is the test session's."""


def with_model(engine: Engine, model: LanguageModel) -> Engine:
    """The same engine (retriever, options, refusal) answering with another model."""
    return Engine(engine.retriever, model, engine.options, engine.refusal)


@asynccontextmanager
async def running_bot(
    settings: Settings,
    engine: Engine | None,
    heartbeat_ms: int = 500,
    token: str = TOKEN,
    knowledge_bases: KnowledgeBases | None = None,
    server: FakeDiscord | None = None,
) -> AsyncIterator[FakeDiscord]:
    """Start the fake server (or use `server`, left running) and the bot (answering with `engine` alone, or
    from `knowledge_bases`); yield the server once the bot is connected with its commands."""
    given = server is not None
    server = server or FakeDiscord(heartbeat_ms=heartbeat_ms, token=token)
    if not given:
        await server.start()
    # As run_discord does before it makes the client.
    await patch_discord_py(server.api_base, token, lambda: Backoff.for_settings(settings))
    client = DocbotClient(settings.replace(discord_api_base=server.api_base), engine, knowledge_bases)
    task = asyncio.create_task(client.serve(token))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 30)
        yield server
    finally:
        await client.close()
        await asyncio.wait_for(task, 30)
        if not given:
            await server.stop()


def finished_replies(server: FakeDiscord, message_id: int) -> list[Posted] | None:
    """The bot's replies to a message once the last one is final (an answer, an error, a hint, busy)."""
    return _final(server.replies_to(message_id))


def finished_followups(server: FakeDiscord, token: str) -> list[Posted] | None:
    """The follow-ups of an interaction once the last one is final (not a progress message)."""
    return _final(server.followups(token))


def _final(posted: list[Posted]) -> list[Posted] | None:
    if not posted:
        return None
    last = posted[-1].content
    streaming = last.endswith("▌") or "Searching" in last or "in line" in last
    return None if streaming else posted


def sent_bodies(server: FakeDiscord, posted: list[Posted] | None = None) -> list[dict]:
    """Each JSON body the bot sent to create or edit these messages (all by default)."""
    posted = list(server.posted.values()) if posted is None else posted
    return [p.payload for p in posted] + [edit for p in posted for edit in p.edits]


def as_text(bodies: list[dict]) -> str:
    return "\n".join(json.dumps(body, ensure_ascii=False) for body in bodies)


async def start_docbot_discord(env: dict[str, str]) -> asyncio.subprocess.Process:
    """The real `docbot discord` in a subprocess, as a user starts it; its log on stderr (see LogLines)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "docbot",
        "discord",
        cwd=REPO,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # discord.py colours its log where it guesses a terminal (Docker)


class LogLines:
    """Collects a process's stderr line by line as it runs, without colours, so a test can wait for a line."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(stream))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            async with self._changed:
                self.lines.append(_ANSI_ESCAPE.sub("", raw.decode("utf-8", "replace").rstrip("\n")))
                self._changed.notify_all()

    def matching(self, pattern: str) -> list[re.Match[str]]:
        """Every line's match of `pattern` (searched anywhere in the line), in order."""
        return [m for m in (re.search(pattern, line) for line in self.lines) if m]

    async def wait_for(self, pattern: str, count: int = 1, timeout: float = 60) -> list[re.Match[str]]:
        """Wait until `count` lines match `pattern`; raises TimeoutError with the log so far."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.matching(pattern)) >= count), timeout)
            except TimeoutError:
                raise TimeoutError(f"no {count} lines matching {pattern!r} in:\n" + "\n".join(self.lines)) from None
        return self.matching(pattern)

    async def finished(self) -> str:
        """The whole log, once the process closed its stderr."""
        await self._reader
        return "\n".join(self.lines)

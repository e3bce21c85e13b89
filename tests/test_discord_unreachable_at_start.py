"""`docbot discord` started while Discord cannot be reached: it waits with one log line per try, connects when
it can, stops at once on SIGTERM or Ctrl+C, and still gives up at once on a rejected token."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import pytest

from docbot.components import index_corpus
from docbot.settings import Settings
from tests.bot_harness import LogLines, finished_replies, start_docbot_discord
from tests.conftest import TINY_DOCS
from tests.fake_discord import TOKEN, FakeDiscord

RETRY_LINE = r"Discord unreachable \(connection refused\); retrying in (\d+\.\d) s$"


def closed_port() -> int:
    """A port on 127.0.0.1 that nobody listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_env(port: int, first_wait: float, longest_wait: float, **extra: str) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": f"http://127.0.0.1:{port}/api/v10",
        "DOCBOT_DISCORD_RETRY_SECONDS": str(first_wait),
        "DOCBOT_DISCORD_RETRY_MAX_SECONDS": str(longest_wait),
        **extra,
    }


async def stopped(process: asyncio.subprocess.Process, log: LogLines, timeout: float = 60) -> str:
    await asyncio.wait_for(process.wait(), timeout)
    return await log.finished()


@pytest.mark.slow
def test_the_bot_waits_for_discord_then_connects_and_answers(tmp_path: Path, write_corpus, embedder):
    corpus = write_corpus(TINY_DOCS)
    index_corpus(Settings(corpus=corpus, index_dir=tmp_path / "index"), embedder)
    port = closed_port()
    env = unreachable_env(
        port, 0.2, 1.0, DOCBOT_CORPUS=str(corpus), DOCBOT_INDEX_DIR=str(tmp_path / "index"), DOCBOT_THREADS="1"
    )

    async def scenario():
        process = await start_docbot_discord(env)
        log = LogLines(process.stderr)  # type: ignore[arg-type]
        server = FakeDiscord()
        try:
            retries = await log.wait_for(RETRY_LINE, count=4, timeout=120)
            await server.start(port)  # Discord is back
            await asyncio.wait_for(server.identified.wait(), 120)
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            replies = await server.wait_until(lambda: finished_replies(server, asked), timeout=120)
            process.send_signal(signal.SIGTERM)
            return [float(m.group(1)) for m in retries], replies, await stopped(process, log), process.returncode
        finally:
            if process.returncode is None:
                process.kill()
            await server.stop()

    waits, replies, output, returncode = asyncio.run(scenario())
    assert waits[0] <= 0.2 and max(waits) <= 1.0  # from the first wait, doubling, capped
    assert waits[2] > waits[0]  # it backs off
    assert "lemmings" in replies[-1].content and "animals/owls.txt" in replies[-1].content
    assert returncode == 0 and "Traceback" not in output
    assert "has connected to Gateway" in output and output.splitlines()[-1].endswith("stopped")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_a_stop_signal_ends_the_wait_for_discord_at_once(signum):
    # The first wait is 30 s or more: only an interrupted wait ends within the bound below.
    env = unreachable_env(closed_port(), 60, 120)

    async def scenario():
        process = await start_docbot_discord(env)
        log = LogLines(process.stderr)  # type: ignore[arg-type]
        try:
            await log.wait_for(RETRY_LINE, timeout=120)
            signalled = time.monotonic()
            process.send_signal(signum)
            output = await stopped(process, log)
            return time.monotonic() - signalled, output, process.returncode
        finally:
            if process.returncode is None:
                process.kill()

    took, output, returncode = asyncio.run(scenario())
    assert took < 20, output
    assert returncode == 0
    assert "Traceback" not in output and output.splitlines()[-1].endswith("stopped")
    assert len([line for line in output.splitlines() if "unreachable" in line]) == 1


def test_a_token_rejected_once_discord_is_reachable_is_one_clear_line_and_exit_1():
    port = closed_port()
    env = unreachable_env(port, 0.2, 0.5)

    async def scenario():
        process = await start_docbot_discord(env)
        log = LogLines(process.stderr)  # type: ignore[arg-type]
        server = FakeDiscord(token="the-token-discord-expects")
        try:
            await log.wait_for(RETRY_LINE, timeout=120)
            await server.start(port)
            return await stopped(process, log), process.returncode
        finally:
            if process.returncode is None:
                process.kill()
            await server.stop()

    output, returncode = asyncio.run(scenario())
    assert returncode == 1
    assert output.splitlines()[-1] == (
        "docbot: error: Discord rejected the bot token: check DISCORD_TOKEN (README › Discord)"
    )
    assert "Traceback" not in output and TOKEN not in output

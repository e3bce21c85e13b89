"""`docbot discord` as a user runs it: token errors are one clear line; the bot answers, then stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import statistics
import time

import pytest

from docbot.components import index_corpus
from docbot.discord.client import DiscordIntentError, DocbotClient
from docbot.discord.patches import patch_discord_py
from docbot.settings import Settings
from tests.bot_harness import bot_settings, build_test_engine, start_docbot_discord
from tests.conftest import TINY_DOCS, run_docbot
from tests.fake_discord import TOKEN, FakeDiscord

# Each question, a word its answer must hold, and the document it must cite.
LATENCY_QUESTIONS = [
    ("What does the snowy owl hunt?", "lemmings", "animals/owls.txt"),
    ("How many hours a day does the domestic cat sleep?", "fifteen", "animals/cats.md"),
    ("What is the tallest volcano in the solar system?", "Olympus Mons", "space.md"),
    ("Where does the snowy owl hunt lemmings?", "tundra", "animals/owls.txt"),
    ("What do cats do when they are content?", "purr", "animals/cats.md"),
]
STOP_SECONDS = 30  # SIGTERM to exit; a bot that waited on its gateway or a queued answer would take minutes


def test_a_missing_token_is_one_clear_line():
    result = run_docbot("discord", env={"DISCORD_TOKEN": "", "DOCBOT_DISCORD_TOKEN": ""})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("docbot: error: no Discord bot token")


def test_a_rejected_token_exits_non_zero_with_one_clear_line_and_never_echoes_it():
    secret = "wrong-token-Zm9vYmFy"

    async def scenario():
        server = FakeDiscord()
        await server.start()
        try:
            process = await start_docbot_discord({"DISCORD_TOKEN": secret, "DISCORD_API_BASE": server.api_base})
            out, err = await asyncio.wait_for(process.communicate(), 120)
            return process.returncode, out.decode() + err.decode()
        finally:
            await server.stop()

    returncode, output = asyncio.run(scenario())
    assert returncode == 1
    assert output.strip().splitlines()[-1] == (
        "docbot: error: Discord rejected the bot token: check DISCORD_TOKEN (README › Discord)"
    )
    assert "Traceback" not in output
    assert secret not in output


def test_without_the_message_content_intent_the_bot_says_how_to_enable_it(tmp_path, write_corpus, embedder, llm):
    settings = bot_settings(write_corpus(TINY_DOCS), tmp_path / "index")
    engine = build_test_engine(settings, embedder, llm)

    async def scenario():
        server = FakeDiscord(message_content_allowed=False)
        await server.start()
        try:
            await patch_discord_py(server.api_base, TOKEN)
            async with DocbotClient(settings, engine) as client:
                with pytest.raises(DiscordIntentError, match="enable the Message Content intent"):
                    await asyncio.wait_for(client.serve(TOKEN), 60)
        finally:
            await server.stop()

    asyncio.run(scenario())


@pytest.mark.slow
def test_docbot_discord_answers_a_mention_and_stops_cleanly_on_sigterm(tmp_path, write_corpus, embedder):
    corpus = write_corpus(TINY_DOCS)
    index_corpus(Settings(corpus=corpus, index_dir=tmp_path / "index"), embedder)

    async def scenario():
        server = FakeDiscord()
        await server.start()
        env = {
            "DISCORD_TOKEN": "fake-bot-token",
            "DISCORD_API_BASE": server.api_base,
            "DOCBOT_CORPUS": str(corpus),
            "DOCBOT_INDEX_DIR": str(tmp_path / "index"),
            "DOCBOT_DISCORD_COOLDOWN_SECONDS": "0",
        }
        process = await start_docbot_discord(env)
        try:
            await asyncio.wait_for(server.identified.wait(), 120)
            latencies, answers = [], []
            for n, (question, _, _) in enumerate(LATENCY_QUESTIONS):
                started = time.monotonic()
                asked = await server.user_says(f"<@900> {question}", user_id=50 + n)
                replies = await server.wait_until(
                    lambda asked=asked: [r for r in server.replies_to(asked) if "-# " in r.content], timeout=120
                )
                latencies.append(time.monotonic() - started)
                answers.append(replies[-1].content)
            process.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            _, err = await asyncio.wait_for(process.communicate(), 3 * STOP_SECONDS)
            return answers, latencies, time.monotonic() - stopped, process.returncode, err.decode()
        finally:
            if process.returncode is None:
                process.kill()
            await server.stop()

    answers, latencies, stop_seconds, returncode, log = asyncio.run(scenario())
    print(
        f"\nmention-to-final-answer latency: median {statistics.median(latencies) * 1000:.0f} ms "
        f"over {len(latencies)} ({', '.join(f'{s * 1000:.0f}' for s in latencies)} ms)"
    )
    for answer, (question, word, doc) in zip(answers, LATENCY_QUESTIONS, strict=True):
        assert word in answer and doc in answer, (question, answer)
    assert returncode == 0 and stop_seconds < STOP_SECONDS
    assert "fake-bot-token" not in log
    assert "stopped" in log.splitlines()[-1]

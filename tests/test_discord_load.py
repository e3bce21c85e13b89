"""One model, many users: every question is answered in turn, places in line are told, the gateway stays alive."""

from __future__ import annotations

import asyncio
import gc
import time

import pytest

from docbot.discord.render import BUSY_TEXT
from tests.bot_harness import bot_settings, build_test_engine, finished_replies, running_bot
from tests.conftest import TINY_DOCS

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How many hours a day does the domestic cat sleep?",
    "What does the snowy owl hunt?",
    "What is the tallest volcano in the solar system?",
]
HEARTBEAT_MS = 500
LOAD_QUESTIONS, LOAD_USERS, LOAD_QUEUE_SIZE = 50, 20, 6
RSS_MARGIN_MB = 15  # a second identical wave may not grow the process by more than this


def is_final(content: str) -> bool:
    return "-# " in content or content == BUSY_TEXT


def seen(posted) -> list[str]:
    """Every text a reply showed: as created, then each edit."""
    return [posted.payload.get("content", "")] + [edit.get("content", "") for edit in posted.edits]


def answered(server, asked: list[int]):
    replies = [server.replies_to(message_id) for message_id in asked]
    return replies if all(r and is_final(r[-1].content) for r in replies) else None


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=24, prompt_chars=400)
    return settings, build_test_engine(settings, embedder, llm)


def test_ten_simultaneous_questions_are_all_answered_while_heartbeats_keep_flowing(tiny):
    settings, engine = tiny
    settings = settings.replace(discord_queue_size=10)

    async def scenario():
        async with running_bot(settings, engine, heartbeat_ms=HEARTBEAT_MS) as server:
            started = time.monotonic()
            asked = await asyncio.gather(
                *(server.user_says(f"<@900> {QUESTIONS[n % 3]}", user_id=10 + n) for n in range(10))
            )
            replies = await server.wait_until(lambda: answered(server, asked), timeout=240)
            return replies, [t for t in server.heartbeats if t >= started], started, time.monotonic()

    replies, heartbeats, started, ended = asyncio.run(scenario())
    finals = [r[-1].content for r in replies]
    assert all("-# **Sources**" in text and "[1]" in text for text in finals)
    places = {text for r in replies for text in seen(r[0]) if "in line" in text}
    assert len(places) >= 5, places  # waiting users were told where they stand
    assert any("#9 in line" in text for text in places)
    gaps = [b - a for a, b in zip([started, *heartbeats], [*heartbeats, ended], strict=True)]
    # The model ran for most of this time; a blocked event loop would leave a long gap.
    assert ended - started > 3 * HEARTBEAT_MS / 1000
    assert max(gaps) < 4 * HEARTBEAT_MS / 1000, max(gaps)


def test_a_full_queue_answers_busy_try_again(tiny):
    settings, engine = tiny
    settings = settings.replace(discord_queue_size=1)

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await asyncio.gather(
                *(server.user_says(f"<@900> {QUESTIONS[1]}", user_id=30 + n) for n in range(4))
            )
            return await server.wait_until(lambda: answered(server, asked), timeout=120)

    finals = [r[-1].content for r in asyncio.run(scenario())]
    assert finals.count(BUSY_TEXT) == 2  # one answering, one waiting, two turned away
    assert sum("lemmings" in text for text in finals) == 2


def rss_mb() -> float:
    """This process's resident memory, from /proc (the bot runs in this process)."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_fifty_questions_from_twenty_users_are_each_answered_or_told_busy_and_memory_stays_flat(
    tmp_path, write_corpus, embedder, llm
):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=8, prompt_chars=300, top_k=2)
    settings = settings.replace(discord_queue_size=LOAD_QUEUE_SIZE, discord_cooldown_seconds=0)
    engine = build_test_engine(settings, embedder, llm)

    async def wave(server) -> tuple[list[list], float]:
        users = [2000 + n % LOAD_USERS for n in range(LOAD_QUESTIONS)]
        asked = await asyncio.gather(
            *(server.user_says(f"<@900> {QUESTIONS[n % 3]}", user_id=user) for n, user in enumerate(users))
        )
        await server.wait_until(lambda: all(finished_replies(server, m) for m in asked), timeout=120)
        await asyncio.sleep(0.5)  # anything sent late (a second reply, a stray edit) would show now
        gc.collect()
        return [server.replies_to(m) for m in asked], rss_mb()

    async def scenario():
        async with running_bot(settings, engine) as server:
            first, rss_first = await wave(server)
            second, rss_second = await wave(server)
            return server, first + second, rss_first, rss_second

    server, replies, rss_first, rss_second = asyncio.run(scenario())
    assert all(len(r) == 1 for r in replies)  # exactly one reply per question: none lost, none doubled
    assert len(server.posted) == 2 * LOAD_QUESTIONS
    finals = [r[0].content for r in replies]
    answers = [text for text in finals if "-# " in text]
    busy = finals.count(BUSY_TEXT)
    print(f"\n{len(answers)} answered, {busy} busy; RSS {rss_first:.1f} MB after wave 1, {rss_second:.1f} MB after 2")
    assert len(answers) + busy == 2 * LOAD_QUESTIONS
    assert len(answers) >= 2 * (LOAD_QUEUE_SIZE + 1)  # one answering and a full queue, in each wave
    assert busy > 0  # the burst was larger than the queue: some users were told to come back
    assert rss_second - rss_first < RSS_MARGIN_MB

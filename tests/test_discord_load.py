"""One model, many users: every question is answered in turn, places in line are told, the gateway stays alive."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import re
import time

import pytest

from docbot.discord.render import BUSY_TEXT
from tests.bot_harness import HeldModel, bot_settings, build_test_engine, finished_replies, running_bot, with_model
from tests.conftest import TINY_DOCS, rss_mb

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How many hours a day does the domestic cat sleep?",
    "What does the snowy owl hunt?",
    "What is the tallest volcano in the solar system?",
]
HEARTBEAT_MS = 500
# Each answer takes at least this long, so an event loop blocked by the model would miss heartbeats for
# that long; a free one, even on a loaded machine, answers them within a few intervals.
ANSWER_SECONDS, HEARTBEAT_GAP_LIMIT = 3.0, 2.0
LOAD_QUESTIONS, LOAD_USERS, LOAD_QUEUE_SIZE = 50, 20, 6
RSS_MARGIN_MB = 10  # a second identical wave may not grow the process by more than this (freed heap returned)


def is_final(content: str) -> bool:
    return "-# " in content or content == BUSY_TEXT


def answered(server, asked: list[int]):
    replies = [server.replies_to(message_id) for message_id in asked]
    return replies if all(r and is_final(r[-1].content) for r in replies) else None


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=24, prompt_chars=400)
    return settings, build_test_engine(settings, embedder, llm)


def place_shown(content: str) -> int | None:
    found = re.search(r"#(\d+) in line", content)
    return int(found.group(1)) if found else None


def test_ten_simultaneous_questions_are_all_answered_while_heartbeats_keep_flowing(tiny, llm):
    settings, engine = tiny
    settings = settings.replace(discord_queue_size=10)
    model = HeldModel(llm, min_seconds=ANSWER_SECONDS)
    engine = with_model(engine, model)

    def places_shown(server, asked: list[int]) -> list[int]:
        return sorted(p for m in asked for r in server.replies_to(m)[:1] if (p := place_shown(r.content)))

    async def scenario():
        async with running_bot(settings, engine, heartbeat_ms=HEARTBEAT_MS) as server:
            asked = await asyncio.gather(
                *(server.user_says(f"<@900> {QUESTIONS[n % 3]}", user_id=10 + n) for n in range(10))
            )
            try:
                # The first answer is held at the model: the nine others wait, each told its own place.
                await server.wait_until(lambda: len(places_shown(server, asked)) == 9, timeout=60)
                places = places_shown(server, asked)
            finally:
                started = time.monotonic()
                model.gate.set()  # also on failure: the bot cannot stop while an answer is held
            replies = await server.wait_until(lambda: answered(server, asked), timeout=300)
            return places, replies, [t for t in server.heartbeats if t >= started], started, time.monotonic()

    places, replies, heartbeats, started, ended = asyncio.run(scenario())
    assert places == list(range(1, 10))  # "#1 in line" to "#9 in line"
    finals = [r[-1].content for r in replies]
    assert all("-# **Sources**" in text and "[1]" in text for text in finals)
    gaps = [b - a for a, b in zip([started, *heartbeats], [*heartbeats, ended], strict=True)]
    # The model ran for all of this time; a blocked event loop would leave a gap as long as an answer.
    assert ended - started > 9 * ANSWER_SECONDS
    assert max(gaps) < HEARTBEAT_GAP_LIMIT, max(gaps)


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


def settled_rss_mb() -> float:
    """This process's resident memory now, once garbage is collected and freed heap returned to the system."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)  # glibc keeps freed memory otherwise, and RSS would measure the allocator
    return rss_mb()


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
        # One question more, answered in turn after the burst: by its final answer every earlier answer
        # is complete, so a second reply or a stray edit would be in.
        last = await server.user_says(f"<@900> {QUESTIONS[0]}", user_id=3000 + len(server.posted))
        closing = await server.wait_until(lambda: finished_replies(server, last), timeout=120)
        assert "-# " in closing[-1].content
        return [server.replies_to(m) for m in asked], settled_rss_mb()

    async def scenario():
        async with running_bot(settings, engine) as server:
            first, rss_first = await wave(server)
            second, rss_second = await wave(server)
            return server, first + second, rss_first, rss_second

    server, replies, rss_first, rss_second = asyncio.run(scenario())
    assert all(len(r) == 1 for r in replies)  # exactly one reply per question: none lost, none doubled
    assert len(server.posted) == 2 * LOAD_QUESTIONS + 2  # and one each for the closing questions
    finals = [r[0].content for r in replies]
    answers = [text for text in finals if "-# " in text]
    busy = finals.count(BUSY_TEXT)
    print(f"\n{len(answers)} answered, {busy} busy; RSS {rss_first:.1f} MB after wave 1, {rss_second:.1f} MB after 2")
    assert len(answers) + busy == 2 * LOAD_QUESTIONS
    assert len(answers) >= 2 * (LOAD_QUEUE_SIZE + 1)  # one answering and a full queue, in each wave
    assert busy > 0  # the burst was larger than the queue: some users were told to come back
    assert rss_second - rss_first < RSS_MARGIN_MB

"""👍/👎 under every answer: a press is stored (a second one changes it), acknowledged to the voter only,
still works after a restart, and never crashes the bot when the database is broken or locked; /gaps."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

import pytest

from docbot.components import index_corpus
from docbot.discord.render import BUSY_TEXT, GAPS_UNREADABLE_TEXT
from docbot.discord.votes import NOT_RECORDED_TEXT
from docbot.knowledge_bases import KnowledgeBases
from tests.bot_harness import bot_settings, build_test_engine, finished_followups, finished_replies, running_bot
from tests.conftest import TINY_DOCS
from tests.discord_payloads import CHANNEL_ID, OTHER_CHANNEL_ID
from tests.fake_components import buttons, press
from tests.fake_discord import FakeDiscord
from tests.test_discord_knowledge_bases import two_knowledge_bases

pytestmark = pytest.mark.slow

EPHEMERAL = 64
REPLY = 4  # CHANNEL_MESSAGE_WITH_SOURCE
ANSWERED = "How many hours a day does the domestic cat sleep?"
REFUSED = "Who won the 1998 football World Cup?"


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=40)
    return settings, build_test_engine(settings, embedder, llm)


def stored_votes(settings) -> list[tuple[str, str]]:
    """(question, vote) of every vote in the bot's feedback database."""
    db = sqlite3.connect(settings.resolved_feedback_db())
    try:
        return db.execute(
            "SELECT a.question, v.vote FROM votes v JOIN answers a ON a.id = v.answer_id ORDER BY v.voted_at"
        ).fetchall()
    finally:
        db.close()


async def ask(server, question: str, user_id: int = 1):
    """Mention the bot with a question; the bot's finished replies."""
    asked = await server.user_says(f"<@900> {question}", user_id=user_id)
    return await server.wait_until(lambda: finished_replies(server, asked), timeout=90)


async def vote(server, posted, emoji: str, user_id: int) -> dict:
    """Press a button under an answer; the bot's response to the press."""
    token = await press(server, posted, emoji, user_id)
    return await server.wait_until(lambda: server.callback(token), timeout=10)


def test_every_final_answer_and_refusal_carries_buttons_and_a_press_is_stored_then_changed(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            answered = await ask(server, ANSWERED)
            refused = await ask(server, REFUSED)
            first = await vote(server, answered[-1], "👍", user_id=5)
            after_first = stored_votes(settings)
            changed = await vote(server, answered[-1], "👎", user_id=5)
            other = await vote(server, refused[-1], "👎", user_id=6)
            slash = await server.slash("ask", {"question": ANSWERED})
            by_slash = await server.wait_until(lambda: finished_followups(server, slash), timeout=90)
            await vote(server, by_slash[-1], "👍", user_id=6)
            return server, answered, refused, by_slash, first, after_first, changed, other

    server, answered, refused, by_slash, first, after_first, changed, other = asyncio.run(scenario())
    assert "fifteen" in answered[-1].content.lower()
    assert "couldn't find" in refused[-1].content
    for replies in (answered, refused, by_slash):
        assert [b["emoji"]["name"] for b in buttons(replies[-1])] == ["👍", "👎"]
        assert not replies[-1].payload.get("components")  # the "searching…" message had none: the final edit adds them
    assert after_first == [(ANSWERED, "up")]
    # One vote per user per answer.
    assert stored_votes(settings) == [(ANSWERED, "down"), (REFUSED, "down"), (ANSWERED, "up")]
    for response in (first, changed, other):
        assert response["type"] == REPLY and response["data"]["flags"] == EPHEMERAL
        assert response["data"]["allowed_mentions"]["parse"] == []
    assert "Thanks" in first["data"]["content"]
    assert "Changed your vote to 👎" in changed["data"]["content"]
    assert "/gaps" in other["data"]["content"]


def test_buttons_sent_before_a_restart_still_record_votes(tiny):
    settings, engine = tiny

    async def scenario():
        server = FakeDiscord()
        await server.start()
        try:
            async with running_bot(settings, engine, server=server):
                answered = await ask(server, ANSWERED)
            async with running_bot(settings, engine, server=server):  # a new process: nothing kept in memory
                response = await vote(server, answered[-1], "👎", user_id=5)
        finally:
            await server.stop()
        return response

    response = asyncio.run(scenario())
    assert response["data"]["flags"] == EPHEMERAL and "Thanks" in response["data"]["content"]
    assert stored_votes(settings) == [(ANSWERED, "down")]


def test_a_file_that_is_not_a_database_means_feedback_not_recorded_and_answers_go_on(tiny, caplog):
    settings, engine = tiny
    settings.resolved_feedback_db().write_bytes(b"not a database\n" * 100)

    async def scenario():
        async with running_bot(settings, engine) as server:
            answered = await ask(server, ANSWERED)
            response = await vote(server, answered[-1], "👍", user_id=5)
            again = await ask(server, "What does the snowy owl hunt?")
            asked_gaps = await server.slash("gaps", user_id=6, admin=True)
            gaps = await server.wait_until(lambda: server.followups(asked_gaps), timeout=30)
            return answered, response, again, gaps

    with caplog.at_level(logging.INFO):
        answered, response, again, gaps = asyncio.run(scenario())
    assert "fifteen" in answered[-1].content.lower() and buttons(answered[-1])
    assert response["data"]["content"] == NOT_RECORDED_TEXT and response["data"]["flags"] == EPHEMERAL
    assert "lemmings" in again[-1].content
    assert [p.content for p in gaps] == [GAPS_UNREADABLE_TEXT]
    failures = [r for r in caplog.records if "feedback not recorded" in r.getMessage()]
    assert len(failures) == 3  # two answers and one vote, one line each
    assert all("file is not a database" in r.getMessage() and r.exc_info is None for r in failures)


def test_a_locked_database_means_feedback_not_recorded_until_the_lock_goes(tiny, caplog):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            answered = await ask(server, ANSWERED)
            await vote(server, answered[-1], "👎", user_id=7)  # acknowledged: the answer is in the database
            other = sqlite3.connect(settings.resolved_feedback_db(), isolation_level=None)
            other.execute("BEGIN EXCLUSIVE")
            locked = await vote(server, answered[-1], "👍", user_id=5)
            other.execute("ROLLBACK")
            other.close()
            unlocked = await vote(server, answered[-1], "👍", user_id=5)
            return locked, unlocked

    with caplog.at_level(logging.INFO):
        locked, unlocked = asyncio.run(scenario())
    assert locked["data"]["content"] == NOT_RECORDED_TEXT
    assert "Thanks" in unlocked["data"]["content"]
    assert stored_votes(settings) == [(ANSWERED, "down"), (ANSWERED, "up")]
    failures = [r.getMessage() for r in caplog.records if "feedback not recorded" in r.getMessage()]
    assert len(failures) == 1 and "database is locked" in failures[0]


def test_gaps_lists_refused_and_thumbs_down_questions_grouped_with_counts_for_admins(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            for question in ("How much does a Tesla cost?", "What is the price of a Tesla?", REFUSED):
                await ask(server, question)
            await ask(server, "how much does a tesla cost")
            answered = await ask(server, ANSWERED)
            await vote(server, answered[-1], "👎", user_id=5)
            refused = await server.slash("gaps", user_id=5)
            refusal = await server.wait_until(lambda: server.callback(refused), timeout=10)
            allowed = await server.slash("gaps", user_id=6, admin=True)
            shown = await server.wait_until(lambda: finished_followups(server, allowed), timeout=60)
            return refusal, server.callback(allowed), shown

    refusal, deferred, shown = asyncio.run(scenario())
    assert "Manage Server" in refusal["data"]["content"] and refusal["data"]["flags"] == EPHEMERAL
    assert deferred["data"]["flags"] == EPHEMERAL  # only the admin sees the list
    text = shown[0].content
    assert text != BUSY_TEXT and all(len(p.content) <= 2000 for p in shown)
    lines = text.splitlines()
    tesla = next(n for n, line in enumerate(lines) if "**1.**" in line)
    assert "tesla cost" in lines[tesla].lower() and "asked 3× (3 refused)" in lines[tesla]
    assert "also: “What is the price of a Tesla?”" in lines[tesla + 1]
    assert any("World Cup" in line and "asked 1× (1 refused)" in line for line in lines)
    assert any("domestic cat" in line and "asked 1× (1 👎)" in line for line in lines)


def test_gaps_show_only_the_channels_knowledge_base_and_a_thread_its_parents(tmp_path, embedder, llm):
    settings = two_knowledge_bases(tmp_path)  # animals in #general, ferries in #random
    for name in settings.knowledge_base_names():
        index_corpus(settings.for_knowledge_base(name), embedder)
    bases = KnowledgeBases.load(settings, embedder, llm)

    async def scenario():
        async with running_bot(settings, None, knowledge_bases=bases) as server:
            for question, channel in ((REFUSED, CHANNEL_ID), ("How much does a Tesla cost?", OTHER_CHANNEL_ID)):
                asked = await server.user_says(f"<@900> {question}", channel_id=channel)
                await server.wait_until(lambda asked=asked: finished_replies(server, asked), timeout=90)
            thread = await server.open_thread(OTHER_CHANNEL_ID)
            shown = []
            for channel in (CHANNEL_ID, thread):
                token = await server.slash("gaps", admin=True, channel_id=channel)
                shown.append(await server.wait_until(lambda token=token: finished_followups(server, token), timeout=60))
            return shown

    in_animals, in_ferries_thread = asyncio.run(scenario())
    assert "knowledge base `animals`" in in_animals[0].content and "World Cup" in in_animals[0].content
    assert "Tesla" not in in_animals[0].content
    assert "knowledge base `ferries`" in in_ferries_thread[0].content and "Tesla" in in_ferries_thread[0].content
    assert "World Cup" not in in_ferries_thread[0].content

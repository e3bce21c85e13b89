"""Slash commands: /ask is deferred then answered, /reindex is for admins and swaps the index live."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot_harness import bot_settings, build_test_engine, finished_followups, running_bot
from tests.conftest import TINY_DOCS
from tests.discord_payloads import ADMIN_ROLE_ID

pytestmark = pytest.mark.slow

EPHEMERAL = 64
DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: Discord shows "docbot is thinking…"
REPLY = 4  # CHANNEL_MESSAGE_WITH_SOURCE
NEW_DOC = "The Nordvik ferry leaves the harbour at seven every morning and returns at dusk.\n"


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=40, discord_admin_role="docs-admin")
    return settings, build_test_engine(settings, embedder, llm)


def test_ask_is_deferred_at_once_then_answered_by_a_follow_up(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            token = await server.slash("ask", {"question": "How many hours a day does the domestic cat sleep?"})
            deferred = await server.wait_until(lambda: server.callback(token), timeout=10)
            answer = await server.wait_until(lambda: finished_followups(server, token), timeout=90)
            return deferred, answer

    deferred, answer = asyncio.run(scenario())
    assert deferred["type"] == DEFERRED
    text = answer[0].content
    assert text.startswith("> How many hours a day does the domestic cat sleep?\n")  # the channel sees the question
    assert "fifteen" in text.lower() or "15" in text
    assert "animals/cats.md" in text and "[1]" in text
    assert answer[0].payload["allowed_mentions"]["parse"] == []


def test_reindex_is_refused_to_members_and_makes_new_documents_answerable_for_admins(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            refused = await server.slash("reindex", user_id=5)
            refusal = await server.wait_until(lambda: server.callback(refused), timeout=10)
            (settings.corpus / "ferry.md").write_text(NEW_DOC, encoding="utf-8")
            by_role = await server.slash("reindex", user_id=6, roles=[ADMIN_ROLE_ID])
            reindexed = await server.wait_until(lambda: server.followups(by_role), timeout=60)
            asked = await server.slash("ask", {"question": "When does the Nordvik ferry leave the harbour?"})
            answer = await server.wait_until(lambda: finished_followups(server, asked), timeout=90)
            by_permission = await server.slash("reindex", user_id=7, admin=True)
            again = await server.wait_until(lambda: server.followups(by_permission), timeout=60)
            return refusal, reindexed, answer, again

    refusal, reindexed, answer, again = asyncio.run(scenario())
    assert refusal["type"] == REPLY and refusal["data"]["flags"] == EPHEMERAL
    assert "Manage Server" in refusal["data"]["content"]
    assert "re-indexed" in reindexed[0].content and "1 added" in reindexed[0].content
    assert "seven" in answer[0].content.lower() and "ferry.md" in answer[0].content
    assert "0 added" in again[0].content  # nothing changed since: an admin by permission may reindex too


def test_sources_and_help_answer_only_the_user_who_asked(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            empty = await server.slash("sources")
            before = await server.wait_until(lambda: server.callback(empty), timeout=10)
            asked = await server.slash("ask", {"question": "What does the snowy owl hunt?"})
            await server.wait_until(lambda: finished_followups(server, asked), timeout=90)
            after_token = await server.slash("sources")
            after = await server.wait_until(lambda: server.callback(after_token), timeout=10)
            help_token = await server.slash("help")
            shown = await server.wait_until(lambda: server.callback(help_token), timeout=10)
            return before, after, shown

    before, after, shown = asyncio.run(scenario())
    assert "No answer in this channel yet" in before["data"]["content"]
    assert after["data"]["flags"] == EPHEMERAL
    assert "animals/owls.txt" in after["data"]["content"] and "lemmings" in after["data"]["content"]
    assert "/ask" in shown["data"]["content"] and shown["data"]["flags"] == EPHEMERAL

"""Mentioning the bot: a cited answer as a reply, never a mass ping, follow-ups, long answers split."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from tests.bot_harness import bot_settings, build_test_engine, running_bot
from tests.conftest import SHIPPED_CORPUS, SHIPPED_DOC

pytestmark = pytest.mark.slow


@pytest.fixture
def shipped(tmp_path, embedder, llm):
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    settings = bot_settings(corpus, tmp_path / "index")
    return settings, build_test_engine(settings, embedder, llm)


def final(server, message_id):
    """The bot's reply once its sources line is there (the answer is complete)."""
    replies = server.replies_to(message_id)
    return replies if replies and "Sources" in replies[-1].content else None


def test_a_mention_gets_a_reply_citing_the_shipped_document(shipped):
    settings, engine = shipped

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says("<@900> Who is the CEO of Microsoft according to the article?")
            replies = await server.wait_until(lambda: final(server, asked), timeout=90)
            return server, replies

    server, replies = asyncio.run(scenario())
    text = "\n".join(r.content for r in replies)
    assert "Nadella" in text
    assert "[1]" in text or "[2]" in text
    assert SHIPPED_DOC in text
    assert all(r.payload["allowed_mentions"]["parse"] == [] for r in replies)

"""Hostile mentions (mass pings, markdown, huge, control characters, RTL): the bot always replies, pings no one."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from docbot.discord.render import BUSY_TEXT, ERROR_TEXT, HELP_TEXT, MESSAGE_LIMIT
from tests.bot_harness import bot_settings, build_test_engine, finished_replies, running_bot, sent_bodies
from tests.conftest import TINY_DOCS
from tests.fake_discord import FakeDiscord

pytestmark = pytest.mark.slow

PIECES = [
    "@everyone",
    "@here",
    "<@1>",
    "<@!900>",
    "<@&300>",
    "<#200>",
    "**bold** __under__ ~~gone~~",
    "`code`",
    "```py\nprint('hi')\n```",
    "||spoiler||",
    "> quoted\n",
    "# Heading\n",
    "-# small\n",
    "[link](https://example.com)",
    "\u202eevil override\u202c",
    "שלום, מה שלומך?",
    "ما هو البركان الأطول؟",
    "\x00\x07\x1b[31m",
    "\u200b\ufeff",
    "😀👍🏽",
    "What does the snowy owl hunt?",
]
MIXED = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=40)), max_size=12).map("".join)
HUGE = st.tuples(st.sampled_from(PIECES), st.integers(150, 600)).map(lambda pair: pair[0] * pair[1])
# A huge question costs seconds of prompt processing (the engine reads 1000 characters of it): one in four.
HOSTILE = st.sampled_from([MIXED, MIXED, MIXED, HUGE]).flatmap(lambda strategy: strategy)
# What a final reply may be besides an answer (which ends with its sources).
NOT_ANSWERS = {BUSY_TEXT, ERROR_TEXT, HELP_TEXT}


class BotInThread:
    """One bot and fake server on their own event loop, so hypothesis can drive them example by example."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fuzzed-bot", daemon=True)
        self._thread.start()
        self.server: FakeDiscord = self.run(context.__aenter__())

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float = 120) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        self.run(self._context.__aexit__(None, None, None))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@pytest.fixture
def bot(tmp_path, write_corpus, embedder, llm) -> Iterator[BotInThread]:
    corpus = write_corpus(TINY_DOCS)
    config = bot_settings(corpus, tmp_path / "index", max_answer_tokens=8, top_k=2, prompt_chars=300)
    running = BotInThread(running_bot(config, build_test_engine(config, embedder, llm)))
    yield running
    running.stop()


USERS = itertools.count(3000)


@settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(content=HOSTILE)
@example(content="")
@example(content="@everyone " * 300)
@example(content="\u202e" + "שלום " * 60)
@example(content="```" + "\x00" * 3000)
def test_any_mention_gets_a_reply_that_pings_no_one_and_fits_a_message(bot, content):
    server = bot.server

    async def ask():
        asked = await server.user_says(f"<@900> {content}", user_id=next(USERS))
        return await server.wait_until(lambda: finished_replies(server, asked), timeout=90)

    replies = bot.run(ask())
    final = replies[-1].content
    assert final in NOT_ANSWERS or "-# " in final, final  # an answer with its sources, or a clear message
    for body in sent_bodies(server, replies):
        assert body["allowed_mentions"]["parse"] == [] and not body["allowed_mentions"].get("replied_user")
        assert not body["allowed_mentions"].get("users") and not body["allowed_mentions"].get("roles")
        assert len(body.get("content", "")) <= MESSAGE_LIMIT

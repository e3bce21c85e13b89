"""Discord under faults: a dropped gateway, HTTP 429s, a channel refusing replies, a model that breaks mid-answer,
and the bot and interaction tokens kept secret."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
from collections.abc import Iterator
from contextlib import closing

import pytest

from docbot.components import index_corpus
from docbot.discord.gate import Gate
from docbot.discord.render import ERROR_TEXT, HELP_TEXT
from docbot.engine.llm import LanguageModel, Message
from docbot.settings import Settings
from tests.bot_harness import (
    HeldModel,
    as_text,
    bot_settings,
    build_test_engine,
    finished_followups,
    finished_replies,
    running_bot,
    sent_bodies,
    start_docbot_discord,
    with_model,
)
from tests.conftest import TINY_DOCS
from tests.discord_payloads import APP_ID, CHANNEL_ID, OTHER_CHANNEL_ID
from tests.fake_discord import SESSION_ID, FakeDiscord

pytestmark = pytest.mark.slow

# Shaped like a real bot token (id.timestamp.hmac), so a leak through any formatting would show.
SECRET_TOKEN = "MTAxNzE2OTk0NjQ0NDQ.GzKq3d.reliability-secret-9f8e7d6c5b4a"
FAULT = "llama_decode returned -3 (fault injected by the test)"
STEPS = "# Lighthouse keeping\n\n" + " ".join(
    f"Step {n}: {step}."
    for n, step in enumerate(
        [
            "climb the tower at dusk",
            "trim the lamp wick",
            "polish the great lens",
            "wind the clockwork",
            "light the lamp",
            "log the weather every hour",
            "sound the fog horn in fog",
            "put out the lamp at dawn",
        ],
        start=1,
    )
)
LONG_QUESTION = "<@900> List every step of lighthouse keeping, one per line, and explain each step in detail."


class FailingModel:
    """The real model, but the next `failures` answers break after a few real pieces, as a failed decode would."""

    def __init__(self, model: LanguageModel, pieces_before_failure: int = 3) -> None:
        self.model = model
        self.name = model.name
        self.pieces_before_failure = pieces_before_failure
        self.failures = 0

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        with closing(self.model.stream(messages, max_tokens, temperature)) as pieces:  # type: ignore[type-var]
            for number, piece in enumerate(pieces):
                if self.failures and number == self.pieces_before_failure:
                    self.failures -= 1
                    raise RuntimeError(FAULT)
                yield piece


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus({**TINY_DOCS, "lighthouse.md": STEPS})
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=40)
    return settings, build_test_engine(settings, embedder, llm)


@pytest.mark.parametrize("close_code", [4000, None], ids=["closed-4000", "connection-cut"])
def test_a_gateway_drop_mid_answer_is_resumed_and_every_answer_arrives(tiny, close_code):
    settings, engine = tiny
    engine.options = dataclasses.replace(engine.options, max_answer_tokens=64)  # a long answer
    model = HeldModel(engine.llm, pieces_first=3)  # the answer is still being written when the gateway drops
    engine = with_model(engine, model)

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says(LONG_QUESTION)
            try:
                # The answer is being written (the model held mid-reply): its first line is on screen.
                await server.wait_until(lambda: any(r.content.endswith("▌") for r in server.replies_to(asked)))
                dropped = time.monotonic()
                await server.drop_gateway(close_code)
                # Sent while the bot is away: Discord replays it on RESUME.
                during = await server.user_says("<@900> What does the snowy owl hunt?", user_id=2)
            finally:
                model.gate.set()  # also on failure: the bot cannot stop while an answer is held
            first = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            second = await server.wait_until(lambda: finished_replies(server, during), timeout=90)
            return server, dropped, first, second

    server, dropped, first, second = asyncio.run(scenario())
    assert server.identifies == 1 and len(server.resumes) == 1  # resumed, not a new session
    assert server.resumes[0]["session_id"] == SESSION_ID and server.resumes[0]["seq"] >= 3
    assert first[0].edit_times[-1] > dropped  # the answer went on streaming after the drop
    assert "lighthouse.md" in first[-1].content and "[1]" in first[-1].content
    assert "lemmings" in second[-1].content


def test_when_the_session_cannot_be_resumed_the_bot_identifies_again_and_keeps_answering(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            server.resume_allowed = False
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            await server.wait_until(lambda: server.replies_to(asked))
            await server.drop_gateway(4000)
            await server.wait_until(lambda: server.identifies == 2, timeout=30)
            after = await server.user_says("<@900> What is the tallest volcano in the solar system?", user_id=2)
            first = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            second = await server.wait_until(lambda: finished_replies(server, after), timeout=90)
            return server, first, second

    server, first, second = asyncio.run(scenario())
    assert len(server.resumes) == 1  # tried to resume, was refused, identified afresh
    assert "lemmings" in first[-1].content
    assert "Olympus" in second[-1].content


def test_http_429_is_honoured_and_the_answer_still_arrives(tiny):
    settings, engine = tiny
    retry_after = 0.5
    create = f"POST /api/v10/channels/{CHANNEL_ID}/messages"

    async def scenario():
        async with running_bot(settings, engine) as server:
            server.faults.rate_limit(3, retry_after)
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            first = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            # Then while an answer streams: its edits are refused.
            again = await server.user_says("<@900> What is the tallest volcano in the solar system?", user_id=2)
            await server.wait_until(lambda: server.replies_to(again))
            server.faults.rate_limit(2, retry_after)
            second = await server.wait_until(lambda: finished_replies(server, again), timeout=90)
            return server, first, second

    server, first, second = asyncio.run(scenario())
    routes = [route for route, _ in server.faults.rate_limited]
    # The first three 429s hit the reply itself: each retry waited, then the fourth try created it.
    assert routes[:3] == [create] * 3
    times = [when for _, when in server.faults.rate_limited[:3]]
    assert all(b - a >= retry_after * 0.95 for a, b in zip(times, times[1:], strict=False))
    assert first[0].created_at - times[0] >= 3 * retry_after * 0.95
    assert routes[3:] == [f"PATCH /api/v10/channels/{CHANNEL_ID}/messages/{second[0].id}"] * 2
    assert server.faults.early_requests == []  # no retry came before its Retry-After
    assert "lemmings" in first[-1].content and "owls.txt" in first[-1].content
    assert "Olympus" in second[-1].content and "space.md" in second[-1].content


@pytest.mark.parametrize("routes", [("messages",), ("messages", "typing")], ids=["messages", "messages-and-typing"])
def test_a_channel_refusing_every_reply_is_logged_once_and_the_next_question_elsewhere_is_answered(
    tiny, caplog, routes
):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            server.faults.refuse(CHANNEL_ID, 403, routes)  # the bot lost Send Messages in #general
            await server.user_says("<@900> What does the snowy owl hunt?")
            await server.wait_until(lambda: server.faults.refused)
            elsewhere = await server.user_says(
                "<@900> What is the tallest volcano in the solar system?", user_id=2, channel_id=OTHER_CHANNEL_ID
            )
            return server, await server.wait_until(lambda: finished_replies(server, elsewhere), timeout=90)

    server, replies = asyncio.run(scenario())
    assert "Olympus" in replies[-1].content and "space.md" in replies[-1].content
    assert [p for p in server.posted.values() if p.channel_id == CHANNEL_ID] == []
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("docbot", "discord"))]
    assert len(problems) == 1, [r.getMessage() for r in problems]  # once, not once per retry or handler
    logged = problems[0].getMessage()
    assert f"channel {CHANNEL_ID}" in logged and "403 Forbidden" in logged and "Missing Permissions" in logged
    assert "What does the snowy owl hunt?" in logged


def test_a_model_failing_mid_answer_gets_a_short_error_and_the_next_question_is_answered(tiny, llm, caplog):
    settings, engine = tiny
    model = FailingModel(llm)
    model.failures = 1
    engine = with_model(engine, model)

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            broken = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            again = await server.user_says("<@900> What does the snowy owl hunt?", user_id=2)
            return server, broken, await server.wait_until(lambda: finished_replies(server, again), timeout=90)

    server, broken, fixed = asyncio.run(scenario())
    assert broken[-1].content == ERROR_TEXT
    sent = as_text(sent_bodies(server))
    assert "Traceback" not in sent and FAULT not in sent and "RuntimeError" not in sent
    logged = [r for r in caplog.records if r.exc_info and FAULT in str(r.exc_info[1])]
    assert logged and "What does the snowy owl hunt?" in logged[0].getMessage()
    assert "lemmings" in fixed[-1].content and "owls.txt" in fixed[-1].content


def test_no_token_is_in_a_log_line_or_a_message_even_at_debug_level(tiny, caplog):
    settings, engine = tiny
    caplog.set_level(logging.DEBUG)  # discord.* and docbot.* log everything: IDENTIFY, RESUME, raw events, URLs

    async def scenario():
        async with running_bot(settings, engine, token=SECRET_TOKEN) as server:
            server.faults.rate_limit(1, 0.2)
            asked = await server.user_says(f"<@900> What does the snowy owl hunt? {SECRET_TOKEN[:10]}")
            await server.wait_until(lambda: server.replies_to(asked))
            await server.drop_gateway(4000)
            await server.wait_until(lambda: server.resumes)
            replies = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            # A /ask whose follow-up is rate limited: its webhook URL carries the interaction token.
            server.faults.rate_limit(1, 0.2)
            interaction = await server.slash("ask", {"question": "What is the tallest volcano?"}, user_id=2)
            followups = await server.wait_until(lambda: finished_followups(server, interaction), timeout=90)
            return server, replies, interaction, followups

    server, replies, interaction, followups = asyncio.run(scenario())
    assert "lemmings" in replies[-1].content and "Olympus" in followups[-1].content
    assert f"POST /api/v10/webhooks/{APP_ID}/{interaction}" in [route for route, _ in server.faults.rate_limited]
    logged = caplog.text
    assert "has sent the IDENTIFY payload" in logged and "RESUME" in logged and "rate limited" in logged
    assert f"/webhooks/{APP_ID}/[redacted]" in logged  # the follow-up URL was logged, without its token
    assert SECRET_TOKEN not in logged and interaction not in logged
    assert SECRET_TOKEN not in as_text(sent_bodies(server))


def test_docbot_discord_never_prints_the_token_through_a_resume_and_a_429(tmp_path, write_corpus, embedder):
    corpus = write_corpus(TINY_DOCS)
    index_corpus(Settings(corpus=corpus, index_dir=tmp_path / "index"), embedder)

    async def scenario():
        server = FakeDiscord(token=SECRET_TOKEN)
        await server.start()
        env = {
            "DISCORD_TOKEN": SECRET_TOKEN,
            "DISCORD_API_BASE": server.api_base,
            "DOCBOT_CORPUS": str(corpus),
            "DOCBOT_INDEX_DIR": str(tmp_path / "index"),
            "DOCBOT_FEEDBACK_DB": str(tmp_path / "feedback.sqlite3"),
            "DOCBOT_MAX_ANSWER_TOKENS": "24",
        }
        process = await start_docbot_discord(env)
        try:
            await asyncio.wait_for(server.identified.wait(), 120)
            server.faults.rate_limit(1, 0.2)
            await server.drop_gateway(4000)
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            replies = await server.wait_until(lambda: finished_replies(server, asked), timeout=120)
            process.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(process.communicate(), 30)
            return server, replies, out.decode() + err.decode()
        finally:
            if process.returncode is None:
                process.kill()
            await server.stop()

    server, replies, output = asyncio.run(scenario())
    assert "lemmings" in replies[-1].content
    assert "successfully RESUMED" in output and "rate limited" in output  # the paths were really taken
    assert SECRET_TOKEN not in output
    assert SECRET_TOKEN not in as_text(sent_bodies(server))


def test_a_question_of_only_invisible_characters_gets_the_discord_help_not_the_command_line_hint(tiny):
    settings, engine = tiny
    invisible = "\x00\u200b\x07 \u202e\ufeff"

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says(f"<@900> {invisible}")
            token = await server.slash("ask", {"question": invisible}, user_id=2)
            mention = await server.wait_until(lambda: server.replies_to(asked), timeout=30)
            slash = await server.wait_until(lambda: [c for c in server.callbacks if c["token"] == token], timeout=30)
            return mention, slash

    mention, slash = asyncio.run(scenario())
    assert [r.content for r in mention] == [HELP_TEXT]
    assert slash[0]["data"]["content"] == HELP_TEXT and slash[0]["data"]["flags"] == 64  # only the asker sees it
    assert "docbot ask" not in HELP_TEXT


def test_the_cooldown_book_forgets_users_whose_cooldown_is_over():
    now = [100.0]
    gate = Gate(Settings(discord_cooldown_seconds=0.2), clock=lambda: now[0])
    assert all(gate.cooldown_left(user_id) == 0 for user_id in range(1000))
    now[0] += 0.1
    assert gate.cooldown_left(7) == pytest.approx(0.1)  # still cooling down
    assert gate.cooling_down() == 1000
    now[0] += 0.15
    assert gate.cooldown_left(7) == 0  # over: asked again
    assert gate.cooldown_left(5000) == 0
    assert gate.cooling_down() == 2  # the 999 other earlier askers were forgotten

"""The Discord bot with `llm_backend = "openai"` when the model server is slow or down: one retry, then a short
error for the user (never the server's address), and the bot goes on answering."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from docbot.components import load_llm
from docbot.discord.render import MODEL_DOWN_TEXT
from tests.bot_harness import as_text, bot_settings, build_test_engine, finished_replies, running_bot, sent_bodies
from tests.fake_llm_server import StandInServer

TIMEOUT = 2.0  # llm_timeout_seconds in these tests; a stalled request waits far longer
STALL = 10 * TIMEOUT
QUESTION = "<@900> What does the snowy owl hunt?"
NEXT_QUESTION = "<@900> What is the tallest volcano in the solar system?"


@pytest.fixture
def model_server() -> Iterator[StandInServer]:
    """The stand-in server, not started: its port refuses connections until the test starts it."""
    server = StandInServer()
    yield server
    if hasattr(server, "runner"):
        server.stop()


@pytest.fixture
def remote_bot(tiny_corpus: Path, tmp_path: Path, embedder, model_server: StandInServer):
    """Bot settings and the real engine, generating on the stand-in server."""
    settings = bot_settings(
        tiny_corpus, tmp_path / "index", llm_backend="openai", llm_url=model_server.url, llm_timeout_seconds=TIMEOUT
    )
    return settings, build_test_engine(settings, embedder, load_llm(settings))


def warnings_and_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("docbot", "discord"))]


def ask(settings, engine, *questions: str) -> list[list]:
    """Each question asked in turn by a different user; the bot's final replies to each."""

    async def scenario():
        async with running_bot(settings, engine) as server:
            replies = []
            for user_id, question in enumerate(questions, start=1):
                asked = await server.user_says(question, user_id=user_id)
                replies.append(await server.wait_until(lambda a=asked: finished_replies(server, a), timeout=90))
            return replies, as_text(sent_bodies(server))

    return asyncio.run(scenario())


def test_a_server_slow_once_is_tried_again_and_the_answer_arrives(remote_bot, model_server, caplog):
    settings, engine = remote_bot
    model_server.start()
    model_server.stall(1, STALL)

    (replies,), _ = ask(settings, engine, QUESTION)
    assert "lemmings" in replies[-1].content and "animals/owls.txt" in replies[-1].content
    assert len(model_server.requests) == 2
    logged = [r.getMessage() for r in warnings_and_errors(caplog)]
    assert len(logged) == 1 and "did not answer in time (trying once more)" in logged[0], logged


def test_a_server_too_slow_twice_gets_the_short_error_and_the_bot_goes_on_answering(remote_bot, model_server, caplog):
    settings, engine = remote_bot
    model_server.start()
    model_server.stall(2, STALL)

    (failed, answered), sent = ask(settings, engine, QUESTION, NEXT_QUESTION)
    assert failed[-1].content == MODEL_DOWN_TEXT
    assert "Olympus" in answered[-1].content and "space.md" in answered[-1].content
    assert len(model_server.requests) == 3  # two tries for the first question, one for the next
    assert model_server.url not in sent and "127.0.0.1" not in sent
    errors = [r.getMessage() for r in warnings_and_errors(caplog) if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "did not answer in time" in errors[0] and "snowy owl" in errors[0], errors
    assert not any(r.exc_info for r in caplog.records)  # one line, no traceback


def test_a_server_down_gets_the_short_error_then_answers_once_it_is_up(remote_bot, model_server, caplog):
    settings, engine = remote_bot

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says(QUESTION)
            failed = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            await asyncio.to_thread(model_server.start)  # the model server is back
            again = await server.user_says(QUESTION, user_id=2)
            answered = await server.wait_until(lambda: finished_replies(server, again), timeout=90)
            return failed, answered, as_text(sent_bodies(server))

    failed, answered, sent = asyncio.run(scenario())
    assert failed[-1].content == MODEL_DOWN_TEXT
    assert "lemmings" in answered[-1].content
    assert "127.0.0.1" not in sent
    logged = [r.getMessage() for r in warnings_and_errors(caplog)]
    assert len(logged) == 2, logged  # the retry, then the failure: one line each
    assert "cannot reach the model server" in logged[0] and "trying once more" in logged[0]
    assert "cannot reach the model server" in logged[1] and "snowy owl" in logged[1]

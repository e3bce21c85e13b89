"""Discord's network failing while the bot runs: passing 5xx answers to its replies, and a gateway outage
during which reconnects are refused. Answers still arrive; the log says what happened in one line a
time, without a traceback. (A single dropped connection and 429s: test_discord_faults.py.)"""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from tests.bot_harness import bot_settings, build_test_engine, finished_replies, running_bot
from tests.conftest import TINY_DOCS
from tests.discord_payloads import CHANNEL_ID

pytestmark = pytest.mark.slow

DISCORD_PY_TRIES = 5  # discord.py's own tries of a request answered 5xx
CREATE = f"POST /api/v10/channels/{CHANNEL_ID}/messages"
GATEWAY_LOST = r"^Discord gateway unreachable \(HTTP 503\); reconnecting in \d+\.\d s$"


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    settings = bot_settings(write_corpus(TINY_DOCS), tmp_path / "index", max_answer_tokens=40)
    return settings, build_test_engine(settings, embedder, llm)


def problems(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith(("docbot", "discord"))]


def delivery_retries(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "docbot.discord" and "; retrying in" in r.getMessage()]


def test_5xx_answers_to_the_reply_and_its_edits_are_retried_and_the_answer_arrives(tiny, caplog):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            # The reply itself: discord.py tries five times, then docbot waits and tries again.
            server.faults.fail_writes(*[500] * DISCORD_PY_TRIES, 502)
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            first = await server.wait_until(lambda: finished_replies(server, asked), timeout=120)
            again = await server.user_says("<@900> What is the tallest volcano in the solar system?", user_id=2)
            await server.wait_until(lambda: server.replies_to(again))
            server.faults.fail_writes(502, 500)  # then the edits that stream and finish the answer
            second = await server.wait_until(lambda: finished_replies(server, again), timeout=90)
            return server, first, second

    server, first, second = asyncio.run(scenario())
    assert [status for _, status in server.faults.failed] == [500] * DISCORD_PY_TRIES + [502, 502, 500]
    assert [route for route, _ in server.faults.failed[: DISCORD_PY_TRIES + 1]] == [CREATE] * (DISCORD_PY_TRIES + 1)
    edit = f"PATCH /api/v10/channels/{CHANNEL_ID}/messages/{second[0].id}"
    assert [route for route, _ in server.faults.failed[DISCORD_PY_TRIES + 1 :]] == [edit, edit]
    assert len(first) == 1 and "lemmings" in first[-1].content and "animals/owls.txt" in first[-1].content
    assert "Olympus" in second[-1].content and "space.md" in second[-1].content
    logged = [r.getMessage() for r in problems(caplog)]
    assert len(logged) == 1 and re.match(r"^Discord unreachable \(HTTP 500\); retrying in \d+\.\d s$", logged[0])


@pytest.mark.parametrize("resume_allowed", [True, False], ids=["resumed", "identified-afresh"])
def test_after_a_gateway_outage_the_bot_reconnects_and_no_answer_is_lost(tiny, caplog, resume_allowed):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            server.resume_allowed = resume_allowed  # False: as after an outage too long to resume
            before = await server.user_says("<@900> What does the snowy owl hunt?")
            await server.wait_until(lambda: server.replies_to(before))
            server.gateway_down = True
            await server.drop_gateway(None)  # the connection is cut; every reconnect is refused for a while
            during = await server.user_says("<@900> How many hours a day does the domestic cat sleep?", user_id=2)
            # The answer asked before the outage is delivered during it (REST still works).
            first = await server.wait_until(lambda: finished_replies(server, before), timeout=90)
            await server.wait_until(lambda: server.gateway_refused >= 3, timeout=60)
            server.gateway_down = False
            await server.wait_until(lambda: server.resumes and (resume_allowed or server.identifies == 2), timeout=60)
            after = await server.user_says("<@900> What is the tallest volcano in the solar system?", user_id=3)
            last = await server.wait_until(lambda: finished_replies(server, after), timeout=90)
            if resume_allowed:  # replayed on RESUME, so answered
                await server.wait_until(lambda: finished_replies(server, during), timeout=90)
            return server, first, last, finished_replies(server, during)

    server, first, last, during = asyncio.run(scenario())
    assert "lemmings" in first[-1].content
    assert "Olympus" in last[-1].content
    if resume_allowed:
        assert server.identifies == 1
        assert during and "fifteen" in during[-1].content
    else:
        # Discord does not replay a session it invalidated: the question asked meanwhile is never seen.
        assert server.identifies == 2 and during is None
    logged = problems(caplog)
    assert not any(r.exc_info for r in logged), [r.getMessage() for r in logged if r.exc_info]
    lost = [r.getMessage() for r in logged if re.match(GATEWAY_LOST, r.getMessage())]
    assert len(lost) >= 3, [r.getMessage() for r in logged]  # one line per refused reconnect
    waits = [float(re.findall(r"\d+\.\d", m)[-1]) for m in lost]
    assert max(waits) <= settings.discord_retry_max_seconds


def test_an_answer_finished_while_the_network_is_down_is_delivered_when_it_is_back(tiny, caplog):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            await server.wait_until(lambda: server.replies_to(asked))
            await server.network_down()
            during = await server.user_says("<@900> How many hours a day does the domestic cat sleep?", user_id=2)
            # The answer is ready: its final edit fails and is tried again, as are the gateway's reconnects.
            await server.wait_until(lambda: len(delivery_retries(caplog)) >= 2, timeout=90)
            server.network_up()
            first = await server.wait_until(lambda: finished_replies(server, asked), timeout=90)
            second = await server.wait_until(lambda: finished_replies(server, during), timeout=90)
            return server, first, second

    server, first, second = asyncio.run(scenario())
    assert "lemmings" in first[-1].content and "animals/owls.txt" in first[-1].content
    assert "fifteen" in second[-1].content  # asked during the outage, replayed on RESUME
    assert server.identifies == 1 and server.resumes
    logged = problems(caplog)
    assert not any(r.exc_info for r in logged), [r.getMessage() for r in logged if r.exc_info]
    messages = [r.getMessage() for r in logged]
    assert all(
        re.match(r"^Discord unreachable \(connection (lost|reset by peer)\); retrying in \d+\.\d s$", m)
        for m in delivery_retries(caplog)
    )
    assert any(m.startswith("Discord gateway unreachable (") for m in messages)
    assert not any("could not reply" in m for m in messages)


def test_an_answer_that_cannot_be_delivered_for_too_long_is_logged_as_lost_in_one_line(tiny, caplog, monkeypatch):
    settings, engine = tiny
    monkeypatch.setattr("docbot.discord.stream.DELIVERY_GIVE_UP_SECONDS", 3.0)  # 10 minutes in production

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            await server.wait_until(lambda: server.replies_to(asked))
            await server.network_down()  # and it stays down
            await server.wait_until(lambda: lost_replies(caplog), timeout=90)
            server.network_up()
            again = await server.user_says("<@900> What is the tallest volcano in the solar system?", user_id=2)
            return await server.wait_until(lambda: finished_replies(server, again), timeout=90)

    replies = asyncio.run(scenario())
    assert "Olympus" in replies[-1].content  # and the bot went on answering
    lost = lost_replies(caplog)
    assert len(lost) == 1 and f"channel {CHANNEL_ID}" in lost[0] and "What does the snowy owl hunt?" in lost[0]
    assert not any(r.exc_info for r in problems(caplog))


def lost_replies(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("could not reply in channel")]

"""Mentioning the bot: a cited answer as a reply, never a mass ping, follow-ups, long answers split."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from docbot.components import load_llm
from docbot.discord.render import ERROR_TEXT, MESSAGE_LIMIT
from tests.bot_harness import bot_settings, build_test_engine, running_bot
from tests.conftest import SHIPPED_CORPUS, SHIPPED_DOC, TINY_DOCS
from tests.discord_payloads import CHANNEL_ID, OTHER_CHANNEL_ID
from tests.fake_llm_server import StandInServer

pytestmark = pytest.mark.slow

NOTICE = "# Notice\n\n@everyone @here <@&300> <@1> The reading room opens at nine on Sundays.\n"
RULES = "# House rules\n\n" + " ".join(
    f"Rule {n}: {rule}."
    for n, rule in enumerate(
        [
            "the kitchen closes at ten",
            "guests sign the visitor book",
            "bicycles stay in the yard",
            "the library is silent",
            "pets need a leash",
            "music stops at midnight",
            "recycling goes out on Tuesday",
            "the sauna is booked at the front desk",
            "towels stay in the rooms",
            "the roof is closed in storms",
        ],
        start=1,
    )
)


def final(server, message_id):
    """The bot's replies to a message once the last one is complete (it ends with the sources, or failed)."""
    replies = server.replies_to(message_id)
    return replies if replies and ("-# " in replies[-1].content or replies[-1].content == ERROR_TEXT) else None


def payloads(server):
    """Every body the bot sent to create or edit a message."""
    return [p.payload for p in server.posted.values()] + [e for p in server.posted.values() for e in p.edits]


def mention_once(settings, engine, content: str, timeout: float = 90):
    """Start the bot, post one mention and return the server and the bot's finished replies."""

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says(content)
            return server, await server.wait_until(lambda: final(server, asked), timeout=timeout)

    return asyncio.run(scenario())


@pytest.fixture
def shipped(tmp_path, embedder, llm):
    corpus = tmp_path / "corpus"
    shutil.copytree(SHIPPED_CORPUS, corpus)
    settings = bot_settings(corpus, tmp_path / "index")
    return settings, build_test_engine(settings, embedder, llm)


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus({**TINY_DOCS, "notice.md": NOTICE, "rules.md": RULES})
    settings = bot_settings(corpus, tmp_path / "index", max_answer_tokens=40)
    return settings, build_test_engine(settings, embedder, llm)


def test_a_mention_gets_a_reply_citing_the_shipped_document(shipped):
    server, replies = mention_once(*shipped, "<@900> Who is the CEO of Microsoft according to the article?")
    text = "\n".join(r.content for r in replies)
    assert "Nadella" in text
    assert "[1]" in text or "[2]" in text
    assert SHIPPED_DOC in text
    assert server.typing  # the typing indicator showed while the answer was made


def test_everyone_in_a_question_or_a_document_pings_no_one(tiny):
    server, replies = mention_once(*tiny, "<@900> @everyone @here when does the reading room open on Sundays?")
    assert "nine" in replies[-1].content.lower() and "notice.md" in replies[-1].content
    sent = payloads(server)
    assert len(sent) >= 2  # created, then edited at least once
    assert all(body["allowed_mentions"]["parse"] == [] for body in sent)
    assert not any(body["allowed_mentions"].get("replied_user") for body in sent)


def test_a_reply_to_an_answer_asks_a_follow_up(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            asked = await server.user_says("<@900> What does the snowy owl hunt?")
            first = await server.wait_until(lambda: final(server, asked), timeout=90)
            follow_up = await server.user_says("Where does it hunt them?", mention_bot=False, reply_to=first[0].id)
            second = await server.wait_until(lambda: final(server, follow_up), timeout=90)
            return first, second

    first, second = asyncio.run(scenario())
    assert "lemmings" in first[0].content
    assert "owls.txt" in second[-1].content and "[1]" in second[-1].content


def test_an_answer_longer_than_one_message_arrives_as_several(tmp_path, write_corpus, embedder):
    # A model server (the stand-in on 127.0.0.1) that recites every rule it is given, 25 times
    # over, a word at a time: a grounded answer far past 2000 characters, streamed for seconds.
    # Without the answer reader the model's grounded claim is the answer (with it, a short quote).
    server = StandInServer(recite_facts=25, word_delay=0.01)
    server.start()
    settings = bot_settings(
        write_corpus({"rules.md": RULES}),
        tmp_path / "index",
        llm_backend="openai",
        llm_url=server.url,
        answer_sentences=100,
        prompt_chars=10_000,
        max_answer_tokens=2000,
        max_answer_lines=0,
        max_answer_chars=8000,
        answer_reader=False,
    )
    engine = build_test_engine(settings, embedder, load_llm(settings))
    question = "What are the house rules about the kitchen, guests and bicycles?"
    try:
        _, replies = mention_once(settings, engine, f"<@900> {question}", timeout=120)
    finally:
        server.stop()
    assert len(replies) >= 2
    progress = replies[0].edit_times[:-1]  # the last edit is the final answer, sent at once
    assert len(progress) >= 2  # the answer grew in place while the model wrote it
    # Throttled: the bot sends its k-th edit no sooner than k intervals after the message was created.
    # Measured from the creation, a late arrival cannot make a later edit look early (gaps could).
    since_created = [when - replies[0].created_at for when in progress]
    earliest = [k * settings.discord_edit_seconds for k in range(1, len(progress) + 1)]
    assert all(s >= e * 0.999 for s, e in zip(since_created, earliest, strict=True)), (since_created, earliest)
    assert all(len(r.content) <= MESSAGE_LIMIT for r in replies)
    assert sum(len(r.content) for r in replies) > MESSAGE_LIMIT
    assert "rules.md" in replies[-1].content and not replies[0].content.endswith("▌")


def test_a_failing_answer_is_reported_to_the_user_and_logged(tmp_path, write_corpus, embedder, llm, caplog):
    # Far more passage text than the model's context window holds: llama.cpp refuses the prompt.
    docs = {f"part{n}.md": f"# Part {n}\n\n" + "The owl hunts lemmings on the tundra. " * 18 for n in range(30)}
    settings = bot_settings(
        write_corpus(docs), tmp_path / "index", top_k=30, prompt_chars=100_000, answer_sentences=10_000
    )
    engine = build_test_engine(settings, embedder, llm)
    _, replies = mention_once(settings, engine, "<@900> What does the owl hunt?", timeout=60)
    assert replies[-1].content == ERROR_TEXT
    assert any("What does the owl hunt?" in r.getMessage() and r.exc_info for r in caplog.records)


def test_the_bot_ignores_bots_other_channels_and_too_quick_repeats(tiny):
    settings, engine = tiny
    settings = settings.replace(discord_channel_ids=(OTHER_CHANNEL_ID,), discord_cooldown_seconds=60)

    async def scenario():
        async with running_bot(settings, engine) as server:
            wrong_channel = await server.user_says("<@900> What does the snowy owl hunt?")
            from_a_bot = await server.user_says(
                "<@900> What does the snowy owl hunt?", channel_id=OTHER_CHANNEL_ID, bot=True
            )
            asked = await server.user_says("<@900> What does the snowy owl hunt?", channel_id=OTHER_CHANNEL_ID)
            again = await server.user_says("<@900> And the cat?", channel_id=OTHER_CHANNEL_ID)
            await server.wait_until(lambda: final(server, asked), timeout=90)
            return [server.replies_to(m) for m in (wrong_channel, from_a_bot, asked, again)]

    wrong_channel, from_a_bot, asked, again = asyncio.run(scenario())
    assert wrong_channel == [] and from_a_bot == []
    assert "lemmings" in asked[-1].content
    assert len(again) == 1 and "try again in" in again[0].content


def test_with_threads_on_each_question_is_answered_in_its_own_thread(tiny):
    settings, engine = tiny
    settings = settings.replace(discord_threads=True)

    async def scenario():
        async with running_bot(settings, engine) as server:
            await server.user_says("<@900> What does the snowy owl hunt?")
            answers = await server.wait_until(lambda: [p for p in server.posted.values() if "-# " in p.content])
            return server, answers

    server, (answer,) = asyncio.run(scenario())
    assert answer.channel_id != CHANNEL_ID and "lemmings" in answer.content
    assert (
        answer.channel_id == int(server.threads[0]["id"])
        and server.threads[0]["name"] == "What does the snowy owl hunt?"
    )

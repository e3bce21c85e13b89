"""Knowledge bases in Discord: each channel answers from its own documents, threads follow their parent,
/reindex rebuilds only the channel's knowledge base, and a broken index silences only its channels."""

from __future__ import annotations

import asyncio
import signal

import pytest

from docbot.components import index_corpus
from docbot.knowledge_base_config import KnowledgeBaseConfig
from docbot.knowledge_bases import KnowledgeBases
from docbot.settings import Settings
from tests.bot_harness import (
    LogLines,
    bot_settings,
    finished_followups,
    finished_replies,
    running_bot,
    start_docbot_discord,
)
from tests.discord_payloads import CHANNEL_ID, OTHER_CHANNEL_ID
from tests.fake_discord import TOKEN, FakeDiscord

pytestmark = pytest.mark.slow

CORPORA = {
    "default": {"space.md": "# Mars\n\nOlympus Mons on Mars is the tallest volcano in the solar system.\n"},
    "animals": {
        "cats.md": "# Cats\n\nThe domestic cat sleeps about fifteen hours a day. Cats purr when content.\n",
        "owls.txt": "Owls\nThe snowy owl hunts lemmings across the Arctic tundra during the long polar day.\n",
    },
    "ferries": {
        "ferries.md": "# Ferries\n\nThe Nordvik ferry leaves the harbour at seven every morning and returns at dusk.\n",
        "harbour.md": "# Harbour\n\nThe harbour master of Nordvik is Ingrid Solberg, who keeps the tide tables.\n",
    },
}
TIMETABLE = "# Winter timetable\n\nIn winter the Nordvik ferry also sails at noon on Saturdays.\n"
CAT_QUESTION = "How many hours a day does the domestic cat sleep?"
FERRY_QUESTION = "When does the Nordvik ferry leave the harbour?"


def two_knowledge_bases(tmp_path) -> Settings:
    """Settings with the default knowledge base and two named ones: animals in #general, ferries in #random."""
    for name, docs in CORPORA.items():
        (tmp_path / name).mkdir()
        for file_name, text in docs.items():
            (tmp_path / name / file_name).write_text(text, encoding="utf-8")
    bases = (
        KnowledgeBaseConfig("animals", tmp_path / "animals", tmp_path / "index-animals", channels=(CHANNEL_ID,)),
        KnowledgeBaseConfig("ferries", tmp_path / "ferries", tmp_path / "index-ferries", channels=(OTHER_CHANNEL_ID,)),
    )
    return bot_settings(tmp_path / "default", tmp_path / "index-default", knowledge_bases=bases, max_answer_tokens=40)


@pytest.fixture
def indexed(tmp_path, embedder) -> Settings:
    settings = two_knowledge_bases(tmp_path)
    for name in settings.knowledge_base_names():
        index_corpus(settings.for_knowledge_base(name), embedder)
    return settings


def text_of(replies) -> str:
    return "\n".join(reply.content for reply in replies)


def test_each_channel_answers_from_its_own_documents_and_a_thread_from_its_parents(indexed, embedder, llm):
    bases = KnowledgeBases.load(indexed, embedder, llm)

    async def scenario():
        async with running_bot(indexed, None, knowledge_bases=bases) as server:
            cats = await server.user_says(f"<@900> {CAT_QUESTION}", channel_id=CHANNEL_ID)
            ferry = await server.user_says(f"<@900> {FERRY_QUESTION}", channel_id=OTHER_CHANNEL_ID)
            ferry_in_animals = await server.user_says(f"<@900> {FERRY_QUESTION}", channel_id=CHANNEL_ID)
            thread = await server.open_thread(OTHER_CHANNEL_ID)
            in_thread = await server.user_says("<@900> Who is the harbour master of Nordvik?", channel_id=thread)
            asked = [cats, ferry, ferry_in_animals, in_thread]
            replies = [await server.wait_until(lambda m=m: finished_replies(server, m), timeout=120) for m in asked]
            sources = await server.slash("sources", channel_id=OTHER_CHANNEL_ID)
            shown = await server.wait_until(lambda: [c for c in server.callbacks if c["token"] == sources], timeout=10)
            return [text_of(r) for r in replies], shown[0]["data"]["content"]

    (cats, ferry, ferry_in_animals, in_thread), sources = asyncio.run(scenario())
    assert "fifteen" in cats.lower() and "cats.md" in cats
    assert "seven" in ferry.lower() and "ferries.md" in ferry
    assert "ferries.md" not in ferry_in_animals and "seven" not in ferry_in_animals.lower()  # not #general's documents
    assert "Solberg" in in_thread and "harbour.md" in in_thread
    assert "ferries.md" in sources and "space.md" not in sources  # /sources: the channel's last answer


def test_reindex_rebuilds_only_the_channels_knowledge_base_and_names_what_changed(indexed, embedder, llm):
    bases = KnowledgeBases.load(indexed, embedder, llm)
    animals_store = indexed.for_knowledge_base("animals").resolved_index_dir() / "CURRENT"
    animals_before = animals_store.read_text()
    (indexed.for_knowledge_base("ferries").corpus / "timetable.md").write_text(TIMETABLE, encoding="utf-8")
    (indexed.for_knowledge_base("ferries").corpus / "harbour.md").unlink()
    (indexed.for_knowledge_base("animals").corpus / "dogs.md").write_text("Dogs bark at the mail.\n", encoding="utf-8")

    async def scenario():
        async with running_bot(indexed, None, knowledge_bases=bases) as server:
            token = await server.slash("reindex", admin=True, channel_id=OTHER_CHANNEL_ID)
            reindexed = await server.wait_until(lambda: server.followups(token), timeout=120)
            asked = await server.slash(
                "ask", {"question": "When does the ferry sail on Saturdays in winter?"}, channel_id=OTHER_CHANNEL_ID
            )
            answer = await server.wait_until(lambda: finished_followups(server, asked), timeout=120)
            return reindexed[0].content, text_of(answer)

    reindexed, answer = asyncio.run(scenario())
    assert "`ferries`" in reindexed and "1 added, 0 changed, 1 removed" in reindexed
    assert "added: timetable.md" in reindexed and "removed: harbour.md" in reindexed
    assert "noon" in answer.lower() and "timetable.md" in answer
    assert animals_store.read_text() == animals_before  # the other knowledge base was not rebuilt
    assert "dogs.md" not in bases.get("animals").engine.retriever.index.manifest.files  # nor re-read


def test_a_broken_index_silences_only_its_channels(indexed, tmp_path):
    ferries_index = indexed.for_knowledge_base("ferries").resolved_index_dir()
    live = ferries_index / (ferries_index / "CURRENT").read_text().strip()
    (live / "vectors.faiss").write_bytes(b"not a faiss index")
    config = tmp_path / "docbot.toml"
    config.write_text(
        f'corpus = "{indexed.corpus}"\nindex_dir = "{indexed.index_dir}"\n'
        + "".join(
            f'[kb.{kb.name}]\ncorpus = "{kb.corpus}"\nindex_dir = "{kb.index_dir}"\nchannels = [{kb.channels[0]}]\n'
            for kb in indexed.knowledge_bases
        ),
        encoding="utf-8",
    )

    async def scenario():
        server = FakeDiscord()
        await server.start()
        env = {"DISCORD_TOKEN": TOKEN, "DISCORD_API_BASE": server.api_base, "DOCBOT_CONFIG": str(config)}
        bot = await start_docbot_discord({**env, "DOCBOT_DISCORD_COOLDOWN_SECONDS": "0", "DOCBOT_THREADS": "2"})
        log = LogLines(bot.stderr)  # type: ignore[arg-type]
        try:
            await log.wait_for("connected as", timeout=180)
            broken = await server.user_says(f"<@900> {FERRY_QUESTION}", channel_id=OTHER_CHANNEL_ID)
            working = await server.user_says(f"<@900> {CAT_QUESTION}", channel_id=CHANNEL_ID)
            replies = [
                await server.wait_until(lambda m=m: finished_replies(server, m), timeout=120) for m in (broken, working)
            ]
            repair = await server.slash("reindex", admin=True, channel_id=OTHER_CHANNEL_ID)  # rebuilds it from scratch
            await server.wait_until(lambda: server.followups(repair), timeout=120)
            again = await server.user_says(f"<@900> {FERRY_QUESTION}", channel_id=OTHER_CHANNEL_ID)
            replies.append(await server.wait_until(lambda: finished_replies(server, again), timeout=120))
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 60)
            return [text_of(r) for r in replies], await log.finished()
        finally:
            if bot.returncode is None:
                bot.kill()
            await server.stop()

    (broken, working, repaired), output = asyncio.run(scenario())
    disabled = [line for line in output.splitlines() if "disabled" in line]
    assert len(disabled) == 1 and "knowledge base ferries" in disabled[0] and "damaged" in disabled[0]
    assert "cannot be searched right now" in broken and "seven" not in broken.lower()
    assert "fifteen" in working.lower() and "cats.md" in working
    assert "seven" in repaired.lower() and "ferries.md" in repaired  # /reindex there brought it back
    assert "Traceback" not in output

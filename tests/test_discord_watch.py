"""`docbot discord` with `watch = true`: edits to the corpus reach answers without a restart."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.bot_harness import bot_settings, build_test_engine, finished_followups, running_bot
from tests.conftest import TINY_DOCS

pytestmark = pytest.mark.slow

FERRY = "# Mars\n\nThe Nordvik ferry leaves the harbour at seven every morning and returns at dusk.\n"
QUESTION = "When does the Nordvik ferry leave the harbour?"
REINDEXED = "documents changed, re-indexed"
FAILED = "re-indexing after a change failed"


@pytest.fixture
def watched(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", watch=True)
    return settings, build_test_engine(settings, embedder, llm)


def test_changed_document_is_answered_from_without_a_restart(watched, caplog):
    settings, engine = watched
    caplog.set_level(logging.INFO, logger="docbot.index")

    def logged(text: str) -> list[str]:
        return [record.getMessage() for record in caplog.records if text in record.getMessage()]

    async def until(condition, timeout: float = 60) -> None:
        for _ in range(int(timeout * 10)):
            if condition():
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"timed out; log: {caplog.text}")

    async def ask(server) -> str:
        token = await server.slash("ask", {"question": QUESTION})
        return (await server.wait_until(lambda: finished_followups(server, token), timeout=90))[0].content

    async def scenario():
        async with running_bot(settings, engine) as server:
            before = await ask(server)
            (settings.corpus / "space.md").write_text(FERRY, encoding="utf-8")
            await until(lambda: logged(REINDEXED))
            after = await ask(server)
            for number in range(40):  # a burst of changes: one rebuild
                (settings.corpus / f"note{number}.txt").write_text(f"Note {number} is about lighthouse {number}.\n")
            await until(lambda: len(logged(REINDEXED)) == 2)
            for path in settings.corpus.rglob("*.*"):  # nothing left to index: the rebuild fails
                path.unlink()
            await until(lambda: logged(FAILED))
            after_failure = await ask(server)
            await asyncio.sleep(1.5)  # room for a wrong extra rebuild
            return before, after, after_failure

    before, after, after_failure = asyncio.run(scenario())
    assert "seven" not in before.lower()
    assert "seven" in after.lower() and "space.md" in after
    rebuilds = logged(REINDEXED)
    assert len(rebuilds) == 2 and "40 added" in rebuilds[1]
    assert len(logged(FAILED)) == 1 and "no " in logged(FAILED)[0]
    assert "seven" in after_failure.lower()  # the previous index keeps answering

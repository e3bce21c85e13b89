"""/add: a moderator attaches a file, the bot saves it into the corpus and answers from it at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.bot_harness import bot_settings, build_test_engine, finished_followups, running_bot
from tests.conftest import TINY_DOCS, run_docbot
from tests.discord_payloads import ADMIN_ROLE_ID
from tests.fake_attachments import Upload

pytestmark = pytest.mark.slow

FERRY = b"# Ferry\n\nThe Nordvik ferry leaves the harbour at seven every morning and returns at dusk.\n"
LIMIT = 4096  # add_max_bytes in these tests: "4 KB"


@pytest.fixture
def tiny(tmp_path, write_corpus, embedder, llm):
    corpus = write_corpus(TINY_DOCS)
    settings = bot_settings(corpus, tmp_path / "index", discord_admin_role="docs-admin", add_max_bytes=LIMIT)
    return settings, build_test_engine(settings, embedder, llm)


def test_add_types_naming_an_unreadable_format_is_one_line_before_connecting():
    result = run_docbot(
        "discord", env={"DOCBOT_ADD_TYPES": ".md .zip", "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10"}
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == ["docbot: error: add_types names formats docbot cannot read: .zip"]


def files_below(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


def test_added_document_is_indexed_and_answers_the_next_question(tiny):
    settings, engine = tiny

    async def scenario():
        async with running_bot(settings, engine) as server:
            added = await server.slash("add", {"file": Upload("ferry.md", FERRY)}, user_id=6, roles=[ADMIN_ROLE_ID])
            reply = await server.wait_until(lambda: server.followups(added), timeout=60)
            asked = await server.slash("ask", {"question": "When does the Nordvik ferry leave the harbour?"})
            answer = await server.wait_until(lambda: finished_followups(server, asked), timeout=90)
            return reply, answer, server.attachments.downloads

    reply, answer, downloads = asyncio.run(scenario())
    assert reply[0].content == "📄 Added **ferry.md**: 1 chunk indexed. Ask away."
    assert len(downloads) == 1  # fetched from the attachment URL the interaction gave
    assert (settings.corpus / "ferry.md").read_bytes() == FERRY
    assert "seven" in answer[0].content.lower() and "ferry.md" in answer[0].content


def test_add_refuses_what_it_must_and_replaces_only_when_asked(tiny, tmp_path):
    settings, engine = tiny
    before = files_below(tmp_path)

    async def add(server, upload: Upload, **options: object) -> str:
        token = await server.slash("add", {"file": upload, **options}, user_id=7, admin=True)
        return (await server.wait_until(lambda: server.followups(token), timeout=60))[0].content

    async def scenario():
        async with running_bot(settings, engine) as server:
            member = await server.slash("add", {"file": Upload("ferry.md", FERRY)}, user_id=5)
            refused = await server.wait_until(lambda: next((c for c in server.callbacks if c["token"] == member), 0))
            replies = {
                "traversal": await add(server, Upload("../../etc/\x07x.md", b"Quartz clocks tick in Zurich.\n")),
                "too big": await add(server, Upload("big.md", b"word " * LIMIT)),
                "understated": await add(server, Upload("liar.md", b"word " * LIMIT, claimed_size=10)),
                "wrong type": await add(server, Upload("photo.png", b"\x89PNG")),
                "broken": await add(server, Upload("broken.docx", b"not a zip at all")),
                "exists": await add(server, Upload("x.md", b"Basalt columns stand in Staffa.\n")),
                "no name": await add(server, Upload("../..", b"text\n")),
            }
            (settings.corpus / "folder.md").mkdir()
            replies["not a file"] = await add(server, Upload("folder.md", b"text\n"), replace=True)
            kept = (settings.corpus / "x.md").read_text()
            replies["replace"] = await add(server, Upload("x.md", b"Basalt columns stand in Staffa.\n"), replace=True)
            return refused, replies, kept, len(server.attachments.downloads)

    refused, replies, kept, downloads = asyncio.run(scenario())
    assert "Manage Server" in refused["data"]["content"]
    assert replies["traversal"] == "📄 Added **x.md**: 1 chunk indexed. Ask away."
    assert "4 KB limit" in replies["too big"] and "big.md is 20 KB" in replies["too big"]
    assert "4 KB limit" in replies["understated"]
    assert ".png files cannot be added" in replies["wrong type"] and ".md" in replies["wrong type"]
    assert "cannot read broken.docx" in replies["broken"]
    assert "already in the documents" in replies["exists"] and "replace: True" in replies["exists"]
    assert kept == "Quartz clocks tick in Zurich.\n"  # not overwritten without replace
    assert "cannot be used" in replies["no name"]
    assert replies["replace"] == "📄 Replaced **x.md**: 1 chunk indexed. Ask away."
    assert "cannot save folder.md in the documents folder: Is a directory" in replies["not a file"]
    assert downloads == 5  # refused by name, type, claimed size or permission: never fetched
    # The only file written outside the index is the traversal's, as a plain name inside the corpus.
    written = {path for path in files_below(tmp_path) - before if "index" not in path.relative_to(tmp_path).parts}
    assert written == {settings.corpus / "x.md"}
    assert (settings.corpus / "x.md").read_text() == "Basalt columns stand in Staffa.\n"
    assert engine.search("basalt columns Staffa")[0].doc == "x.md"

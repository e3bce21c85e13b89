"""`docbot chat`: one session, several questions, follow-ups that lean on the previous one."""

from __future__ import annotations

import pytest

from docbot.components import index_corpus
from docbot.settings import Settings
from tests.conftest import run_docbot


@pytest.mark.slow
def test_chat_answers_in_turn_and_a_follow_up_finds_what_it_refers_to(tiny_corpus, tmp_path, embedder):
    index_dir = tmp_path / "index"
    index_corpus(Settings(corpus=tiny_corpus, index_dir=index_dir), embedder)
    session = "What does the snowy owl hunt?\nWhere does it hunt them?\n/sources\n/quit\n"

    result = run_docbot("chat", env={"DOCBOT_INDEX_DIR": str(index_dir)}, input=session)

    assert result.returncode == 0, result.stderr
    first, _, rest = result.stdout.partition("owls.txt")
    assert "lemmings" in first
    assert "Arctic tundra" in rest  # "it" and "them" were searched with the owl question
    assert result.stdout.count("[1] animals/owls.txt") >= 2  # sources of both answers, then /sources

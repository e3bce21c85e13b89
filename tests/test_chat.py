"""`docbot chat`: one session, several questions, follow-ups that lean on the previous one, Ctrl+C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docbot.components import index_corpus
from docbot.settings import Settings
from tests.conftest import REPO, run_docbot
from tests.fake_llm_server import StandInServer

SLOW_WORD_SECONDS = 1.0  # the stand-in model server's pace: an answer of ~15 words takes ~15 s


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


class ChatSession:
    """`docbot chat` in a subprocess, its output in files a test can read while it runs."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.out, self.err = tmp_path / "stdout", tmp_path / "stderr"
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "docbot", "chat"],
                cwd=REPO,
                env={**os.environ, **env},
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                text=True,
                # Started from a background job, this process ignores SIGINT and its child would too.
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )

    def ask(self, question: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(question + "\n")
        self.process.stdin.flush()

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def stdout(self) -> str:
        return self.out.read_text()

    def stderr(self) -> str:
        return self.err.read_text()

    def wait_for(self, check: Callable[[], object], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.process.poll() is None, f"chat ended early: {self.stderr()}"
            assert time.monotonic() < deadline, f"timed out; stdout {self.stdout()!r} stderr {self.stderr()!r}"
            time.sleep(0.05)


@pytest.fixture
def slow_chat(tiny_corpus, tmp_path, embedder, model_server) -> Iterator[tuple[ChatSession, StandInServer]]:
    """A chat whose model (a stand-in server on 127.0.0.1) writes one word a second."""
    index_dir = tmp_path / "index"
    index_corpus(Settings(corpus=tiny_corpus, index_dir=index_dir), embedder)
    model_server.word_delay = SLOW_WORD_SECONDS
    env = {"DOCBOT_INDEX_DIR": str(index_dir), "DOCBOT_LLM_BACKEND": "openai", "DOCBOT_LLM_URL": model_server.url}
    session = ChatSession(tmp_path, env)
    try:
        yield session, model_server
    finally:
        if session.process.poll() is None:
            session.process.kill()
        session.process.wait(30)


@pytest.mark.slow
def test_ctrl_c_mid_answer_returns_to_the_prompt_and_ctrl_c_there_leaves(slow_chat):
    chat, server = slow_chat
    chat.ask("What does the snowy owl hunt?")
    chat.wait_for(lambda: server.requests)  # the model is writing the answer
    chat.interrupt()
    chat.wait_for(lambda: "interrupted" in chat.stderr())
    server.word_delay = 0

    chat.ask("What is the tallest volcano in the solar system?")
    chat.wait_for(lambda: "space.md" in chat.stdout())
    chat.interrupt()  # at the prompt
    returncode = chat.process.wait(60)

    assert "lemmings" not in chat.stdout()  # the first answer was cut short, never printed
    assert "Olympus Mons" in chat.stdout()  # the chat went on answering
    assert len(server.requests) == 2
    assert returncode == 130
    assert chat.stderr().strip().splitlines()[-1] == "docbot: interrupted"


@pytest.mark.slow
def test_a_second_ctrl_c_right_after_the_first_leaves(slow_chat):
    # Two presses the system delivers before Python handles the first are one; the second counts
    # from the moment the first has stopped the answer (milliseconds later).
    chat, server = slow_chat
    chat.ask("What does the snowy owl hunt?")
    chat.wait_for(lambda: server.requests)
    chat.interrupt()
    chat.wait_for(lambda: "interrupted" in chat.stderr())
    chat.interrupt()
    returncode = chat.process.wait(60)

    assert returncode == 130
    assert chat.stderr().strip().splitlines()[-1] == "docbot: interrupted"
    assert "lemmings" not in chat.stdout()

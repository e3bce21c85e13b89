"""Generation from an OpenAI-compatible server, through the real engine and CLI.

The server is a tiny stand-in on 127.0.0.1 (tests/fake_llm_server.py) answering with fact [1]:
it proves the passages travelled to the server and its streamed reply came back as the answer.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from docbot.components import build_engine, index_corpus, load_llm, open_retriever
from docbot.errors import ModelError
from docbot.settings import Settings
from tests.conftest import run_docbot
from tests.fake_llm_server import StandInServer


@pytest.fixture
def remote_settings(tiny_corpus: Path, tmp_path: Path, embedder, model_server: StandInServer) -> Settings:
    settings = Settings(
        corpus=tiny_corpus,
        index_dir=tmp_path / "index",
        llm_backend="openai",
        llm_url=model_server.url,
        llm_api_model="tiny",
    )
    index_corpus(settings, embedder)
    return settings


def test_answer_streams_from_the_server_with_citations(remote_settings: Settings, embedder, model_server) -> None:
    settings = remote_settings.replace(answer_reader=False)  # the model's words are shown as they stream
    engine = build_engine(settings, open_retriever(settings, embedder))
    model_server.word_delay = 0.1  # a paced stream: the first word arrives well before the last
    pieces: list[str] = []
    arrived: list[float] = []

    def on_text(piece: str) -> None:
        pieces.append(piece)
        arrived.append(time.perf_counter())

    asked = time.perf_counter()
    answer = engine.answer("What is the tallest volcano in the solar system?", on_text=on_text)

    assert answer.answered
    assert "Olympus Mons" in answer.text
    assert answer.sources[answer.cited[0] - 1].doc == "space.md"
    assert len(pieces) > 3  # streamed piece by piece, not in one block
    # Timed when the first piece came, not when the answer ended: no later than this side saw it.
    assert arrived[-1] - arrived[0] > 0.1 * (len(pieces) - 1) * 0.9
    assert answer.timings["retrieve_ms"] <= answer.timings["first_token_ms"] <= (arrived[0] - asked) * 1000
    sent = model_server.requests[-1]
    assert (sent["model"], sent["stream"], sent["max_tokens"]) == ("tiny", True, remote_settings.max_answer_tokens)


def test_unreachable_server_is_one_clear_error(remote_settings: Settings, embedder) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = load_llm(remote_settings.replace(llm_url=f"http://127.0.0.1:{port}/v1"))
    engine = build_engine(remote_settings, open_retriever(remote_settings, embedder), llm)

    with pytest.raises(ModelError, match=r"cannot reach the model server at http://127\.0\.0\.1:\d+/v1"):
        engine.answer("What is the tallest volcano?")


def test_server_error_status_is_reported_with_its_reason(remote_settings: Settings, model_server) -> None:
    llm = load_llm(remote_settings.replace(llm_url=model_server.url.replace("/v1", "/broken/v1")))

    with pytest.raises(ModelError, match="HTTP 503.*model is still loading"):
        list(llm.stream([{"role": "user", "content": "hi"}], 8, 0.0))


@pytest.mark.slow
def test_cli_ask_uses_the_server_when_configured(remote_settings: Settings, model_server) -> None:
    env = {"DOCBOT_LLM_BACKEND": "openai", "DOCBOT_LLM_URL": model_server.url}
    where = ["--corpus", str(remote_settings.corpus), "--index-dir", str(remote_settings.index_dir)]
    result = run_docbot("ask", "--json", "Which owl hunts lemmings?", *where, env=env)

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "snowy owl" in answer["answer"].lower()
    assert answer["sources"][0]["doc"] == "animals/owls.txt"
    assert "first_token_ms" in answer["timings"]

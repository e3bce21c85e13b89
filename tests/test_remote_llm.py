"""Generation from an OpenAI-compatible server, through the real engine and CLI.

The server is a tiny stand-in on 127.0.0.1 that answers with the first sentence of passage [1]:
it proves the passages travelled to the server and its streamed reply came back as the answer.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.components import build_engine, index_corpus, load_llm, open_retriever
from bot.errors import ModelError
from bot.settings import Settings
from tests.conftest import run_docbot

_FIRST_PASSAGE = re.compile(r"^\[1\] (.+?[.!?])", re.MULTILINE)


class StandInServer:
    """An OpenAI-compatible chat completions endpoint that streams over server-sent events."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        found = _FIRST_PASSAGE.search(body["messages"][-1]["content"])
        reply = f"{found.group(1)} [1]" if found else "I don't know."
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for word in reply.split(" "):
            event = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
        await response.write(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
        await response.write(b"data: [DONE]\n\n")
        return response

    async def _broken(self, request: web.Request) -> web.Response:
        return web.Response(status=503, text='{"error": "model is still loading"}')

    def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/broken/v1/chat/completions", self._broken)
        runner = web.AppRunner(app)
        self.loop.run_until_complete(runner.setup())
        self.loop.run_until_complete(web.SockSite(runner, self.sock).start())
        self.runner = runner
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def server() -> Iterator[StandInServer]:
    stand_in = StandInServer()
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def remote_settings(tiny_corpus: Path, tmp_path: Path, embedder, server: StandInServer) -> Settings:
    settings = Settings(
        corpus=tiny_corpus, index_dir=tmp_path / "index", llm_backend="openai", llm_url=server.url, llm_api_model="tiny"
    )
    index_corpus(settings, embedder)
    return settings


def test_answer_streams_from_the_server_with_citations(remote_settings: Settings, embedder, server) -> None:
    engine = build_engine(remote_settings, open_retriever(remote_settings, embedder))
    pieces: list[str] = []
    answer = engine.answer("What is the tallest volcano in the solar system?", on_token=pieces.append)

    assert answer.answered
    assert "Olympus Mons" in answer.text
    assert answer.sources[answer.cited[0] - 1].doc == "space.md"
    assert len(pieces) > 3  # streamed piece by piece, not in one block
    assert answer.timings["first_token_ms"] <= answer.timings["retrieve_ms"] + answer.timings["generate_ms"]
    sent = server.requests[-1]
    assert (sent["model"], sent["stream"], sent["max_tokens"]) == ("tiny", True, remote_settings.max_answer_tokens)


def test_unreachable_server_is_one_clear_error(remote_settings: Settings, embedder) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    llm = load_llm(remote_settings.replace(llm_url=f"http://127.0.0.1:{port}/v1"))
    engine = build_engine(remote_settings, open_retriever(remote_settings, embedder), llm)

    with pytest.raises(ModelError, match=r"cannot reach the model server at http://127\.0\.0\.1:\d+/v1"):
        engine.answer("What is the tallest volcano?")


def test_server_error_status_is_reported_with_its_reason(remote_settings: Settings, server) -> None:
    llm = load_llm(remote_settings.replace(llm_url=server.url.replace("/v1", "/broken/v1")))

    with pytest.raises(ModelError, match="HTTP 503.*model is still loading"):
        list(llm.stream([{"role": "user", "content": "hi"}], 8, 0.0))


@pytest.mark.slow
def test_cli_ask_uses_the_server_when_configured(remote_settings: Settings, server) -> None:
    env = {"DOCBOT_LLM_BACKEND": "openai", "DOCBOT_LLM_URL": server.url}
    where = ["--corpus", str(remote_settings.corpus), "--index-dir", str(remote_settings.index_dir)]
    result = run_docbot("ask", "--json", "Which owl hunts lemmings?", *where, env=env)

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert "snowy owl" in answer["answer"].lower()
    assert answer["sources"][0]["doc"] == "animals/owls.txt"
    assert "first_token_ms" in answer["timings"]

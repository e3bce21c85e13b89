"""A stand-in OpenAI-compatible chat server on 127.0.0.1: the network edge of remote generation.

By default it answers with the first sentence of fact [1], which proves the facts travelled to
the server and its streamed reply came back; it can also recite every fact, for long answers.
Faults: `stall(count, seconds)` holds the next requests before answering (a slow or stuck server).
Until `start()` its port is bound but not listening, so connections are refused (a server down).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading

from aiohttp import web

_FACT = re.compile(r"^\[\d+\] (.+)$", re.MULTILINE)
_FIRST_PASSAGE = re.compile(r"^\[1\] (.+?[.!?])", re.MULTILINE)


class StandInServer:
    """An OpenAI-compatible chat completions endpoint that streams over server-sent events."""

    def __init__(self, recite_facts: int = 0, word_delay: float = 0.0) -> None:
        self.recite_facts = recite_facts  # > 0: reply with every fact, this many times over
        self.word_delay = word_delay
        self.requests: list[dict] = []
        self.stalls: list[float] = []  # seconds to hold each of the next requests before answering
        self.loop = asyncio.new_event_loop()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.stalls:
            until = self.loop.time() + self.stalls.pop(0)
            while self.loop.time() < until:
                if request.transport is None or request.transport.is_closing():  # the client gave up waiting
                    return web.Response(status=499)
                await asyncio.sleep(0.05)
        prompt = body["messages"][-1]["content"]
        found = _FIRST_PASSAGE.search(prompt)
        reply = f"{found.group(1)} [1]" if found else "I don't know."
        if self.recite_facts:
            reply = " ".join(_FACT.findall(prompt) * self.recite_facts)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for word in reply.split(" "):
            event = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
            await response.write(f"data: {json.dumps(event)}\n\n".encode())
            await asyncio.sleep(self.word_delay)
        await response.write(b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n')
        await response.write(b"data: [DONE]\n\n")
        return response

    def stall(self, count: int, seconds: float) -> None:
        """Hold the next `count` requests for `seconds` before answering them."""
        self.stalls.extend([seconds] * count)

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

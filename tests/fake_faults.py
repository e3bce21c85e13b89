"""Faults the local Discord-compatible server (fake_discord.py) injects into its REST routes.

Each switch reproduces something Discord or the network does to a bot: `rate_limit` (answer the next
message creates/edits with HTTP 429), `fail_writes` (answer them with a passing 5xx), `refuse` (answer
every message write, or typing, in a channel with 403 or 500, as when the bot lost Send Messages
there) and `network_down` (cut every request without an answer). The server also checks the bot
token here. Each fault is an aiohttp middleware; what each one did is recorded for the tests.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

REFUSAL_BODIES = {
    403: {"message": "Missing Permissions", "code": 50013},
    500: {"message": "500: Internal Server Error", "code": 0},
    502: {"message": "502: Bad Gateway", "code": 0},
    503: {"message": "503: Service Unavailable", "code": 0},
}

Record = Callable[[Callable[[], None]], Awaitable[None]]  # applies a change and wakes the tests waiting on one


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON body as Discord sends it."""
    # discord.py parses a body as JSON only if the content type is exactly application/json.
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


class Faults:
    """The fault switches and what they did; `middlewares()` puts them in front of the server's routes."""

    def __init__(self, token: str, record: Record) -> None:
        self.token = token  # the bot token the server accepts
        self.rate_limited: list[tuple[str, float]] = []  # (method path, when) of each 429 sent
        self.early_requests: list[str] = []  # requests that came before the Retry-After of their 429
        self.failed: list[tuple[str, int]] = []  # (method path, status) of each 5xx `fail_writes` sent
        self.cut: list[str] = []  # method path of each request cut while the network was down
        self.refused: list[str] = []  # method path of each request `refuse` turned down
        self._record = record
        self._limits_left = 0
        self._retry_after = 0.0
        self._limited_until: dict[str, float] = {}  # method path -> when its 429 allows a retry
        self._failures: list[int] = []  # statuses for the next message creates/edits
        self._network_down = False
        self._refusals: dict[int, tuple[int, tuple[str, ...]]] = {}  # channel id -> (status, refused routes)

    def middlewares(self) -> list[Callable]:
        """The faults in the order a request meets them: the network first, rate limits last."""
        return [self._network, self._auth, self._refusals_of_channels, self._server_errors, self._rate_limits]

    def rate_limit(self, count: int, retry_after: float) -> None:
        """Answer the next `count` message creates/edits with 429 Too Many Requests."""
        self._limits_left, self._retry_after = count, retry_after

    def network_down(self) -> None:
        """Cut every request from now on, until `network_up()` (FakeDiscord.network_down cuts the gateway too)."""
        self._network_down = True

    def network_up(self) -> None:
        self._network_down = False

    def fail_writes(self, *statuses: int) -> None:
        """Answer the next message creates/edits with these 5xx statuses, one each (discord.py retries them)."""
        self._failures.extend(statuses)

    def refuse(self, channel_id: int, status: int = 403, routes: tuple[str, ...] = ("messages",)) -> None:
        """Answer every write to a channel's `routes` with `status`: "messages" (creates, edits, threads), "typing"."""
        self._refusals[channel_id] = (status, routes)

    @web.middleware
    async def _network(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        if not self._network_down:
            return await handler(request)
        key = f"{request.method} {request.path}"
        await self._record(lambda: self.cut.append(key))
        if request.transport is not None:
            request.transport.abort()  # no answer at all: the client sees the connection lost
        raise ConnectionResetError("network outage injected by the test")

    @web.middleware
    async def _auth(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        # Webhook and interaction routes authenticate by their token in the path, as on Discord.
        by_path = "/webhooks/" in request.path or "/interactions/" in request.path
        if request.path.startswith("/api/") and not by_path:
            if request.headers.get("Authorization") != f"Bot {self.token}":
                return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        return await handler(request)

    @web.middleware
    async def _refusals_of_channels(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        parts = request.path.split("/")  # "", "api", "v10", "channels", id, route, ...
        if request.method in ("POST", "PATCH") and len(parts) > 5 and parts[3] == "channels":
            status, routes = self._refusals.get(int(parts[4]), (0, ()))
            if parts[5] in routes:
                key = f"{request.method} {request.path}"
                await self._record(lambda: self.refused.append(key))
                return json_response(REFUSAL_BODIES[status], status=status)
        return await handler(request)

    @web.middleware
    async def _server_errors(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        key = f"{request.method} {request.path}"
        writes_message = request.method in ("POST", "PATCH") and ("/messages" in key or "/webhooks/" in key)
        if not self._failures or not writes_message or key.endswith("/threads"):
            return await handler(request)
        status = self._failures.pop(0)
        await self._record(lambda: self.failed.append((key, status)))
        return json_response(REFUSAL_BODIES[status], status=status)

    @web.middleware
    async def _rate_limits(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        key = f"{request.method} {request.path}"
        now = time.monotonic()
        if now < self._limited_until.get(key, 0):
            self.early_requests.append(key)
        writes_message = request.method in ("POST", "PATCH") and ("/messages" in key or "/webhooks/" in key)
        if self._limits_left <= 0 or not writes_message or key.endswith("/threads"):
            return await handler(request)
        self._limits_left -= 1
        self._limited_until[key] = now + self._retry_after
        await self._record(lambda: self.rate_limited.append((key, now)))
        body = {"message": "You are being rate limited.", "retry_after": self._retry_after, "global": False}
        response = json_response(body, status=429)
        # discord.py retries a 429 only if it came through Discord's proxy (Via); else it is a Cloudflare ban.
        response.headers.update({"Retry-After": str(self._retry_after), "Via": "1.1 google"})
        return response

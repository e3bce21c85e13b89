"""A small Discord-compatible server on 127.0.0.1: the REST routes and gateway protocol docbot uses.

It records what the bot does (messages, edits, interaction callbacks, follow-ups, heartbeats) so
tests can assert on what a user would see. Files attached to slash commands are served from
127.0.0.1 too (fake_attachments.py). Gateway fault switches: `drop_gateway` (close or cut the websocket;
the bot RESUMEs, or IDENTIFYs afresh if `resume_allowed` is off), `gateway_down` (refuse new gateway
connections, as in an outage) and `network_down` (cut every connection, REST and gateway, without an
answer, as when the network fails). REST faults (rate limits, 5xx, refused channels) are `server.faults`
(fake_faults.py).
JSON is served as exactly `application/json`, and gateway frames are sent as uncompressed text
(discord.py asks for zlib-stream but reads text frames).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests import discord_payloads as payloads
from tests.discord_payloads import (
    APP_ID,
    BOT_ID,
    BOT_USER,
    CHANNEL_ID,
    GUILD_ID,
    MANAGE_GUILD,
    MESSAGE_CONTENT_INTENT,
)
from tests.fake_attachments import Attachments
from tests.fake_faults import Faults, json_response

TOKEN = "fake-bot-token"
SESSION_ID = "fake-session"


@dataclass
class Posted:
    """A message the bot created (in a channel or as an interaction follow-up), with its edits."""

    id: int
    channel_id: int
    content: str
    payload: dict[str, Any]  # the JSON body of the create request
    reply_to: int | None = None
    webhook_token: str | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.monotonic)
    edit_times: list[float] = field(default_factory=list)

    @property
    def components(self) -> list[dict[str, Any]]:
        """The message's components (rows of buttons) as last sent, in a create or an edit."""
        for body in [*self.edits[::-1], self.payload]:
            if "components" in body:
                return body["components"] or []
        return []


class FakeDiscord:
    """Run with `await server.start()`; point the bot at `server.api_base`."""

    def __init__(self, heartbeat_ms: int = 500, message_content_allowed: bool = True, token: str = TOKEN) -> None:
        self.heartbeat_ms = heartbeat_ms
        self.message_content_allowed = message_content_allowed  # False: as if not enabled in the portal
        self.token = token  # the bot token this server accepts
        self.resume_allowed = True  # False: a RESUME gets INVALID_SESSION, as after a long outage
        self.identifies = 0  # IDENTIFY payloads accepted
        self.resumes: list[dict[str, Any]] = []  # {"seq", "session_id"} of each RESUME received
        self.gateway_down = False  # True: new gateway connections are refused with HTTP 503
        self.gateway_refused = 0  # gateway connections refused while gateway_down
        self._events: list[str] = []  # every dispatched gateway frame, replayed on RESUME
        self._transport: Any = None  # the gateway connection's transport, to cut it
        self.posted: dict[int, Posted] = {}
        self.attachments = Attachments()  # files attached to slash commands (an Upload option), served here
        self.callbacks: list[dict[str, Any]] = []  # interaction callbacks, with "interaction_id"
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> synced commands
        self.typing: list[int] = []  # channel ids
        self.threads: list[dict[str, Any]] = []  # threads the bot started
        self.user_threads: dict[int, int] = {}  # thread id -> parent channel id, of threads users opened
        self.heartbeats: list[float] = []  # when each heartbeat was received (and acknowledged)
        self.identified = asyncio.Event()
        self._ids = itertools.count(10_000)
        self._seq = itertools.count(1)
        self._changed = asyncio.Condition()
        self.faults = Faults(token, self._record)  # REST faults: rate limits, 5xx, refusals, network outage
        self._socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1:`port` (0: any free port)."""
        app = web.Application(middlewares=self.faults.middlewares())
        api = "/api/v10"
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get(f"{api}/users/@me", lambda r: json_response(BOT_USER))
        app.router.add_get(f"{api}/oauth2/applications/@me", lambda r: json_response(payloads.application()))
        app.router.add_get(f"{api}/gateway/bot", self._gateway_bot)
        app.router.add_put(api + "/applications/{app}/commands", self._sync_commands)
        app.router.add_put(api + "/applications/{app}/guilds/{guild}/commands", self._sync_commands)
        app.router.add_post(api + "/channels/{channel}/messages", self._create_message)
        app.router.add_patch(api + "/channels/{channel}/messages/{message}", self._edit_message)
        app.router.add_post(api + "/channels/{channel}/typing", self._typing)
        app.router.add_post(api + "/channels/{channel}/messages/{message}/threads", self._create_thread)
        app.router.add_post(api + "/interactions/{id}/{token}/callback", self._callback)
        app.router.add_post(api + "/webhooks/{app}/{token}", self._followup)
        app.router.add_patch(api + "/webhooks/{app}/{token}/messages/{message}", self._edit_message)
        self.attachments.add_routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- what a test does: users speak, then the test waits for what the bot shows

    async def user_says(
        self,
        content: str,
        user_id: int = 1,
        mention_bot: bool = True,
        reply_to: int | None = None,
        channel_id: int = CHANNEL_ID,
        bot: bool = False,
    ) -> int:
        """A user (or another bot) posts in a channel; returns the message id."""
        message_id = next(self._ids)
        author = payloads.user(user_id, f"user{user_id}", bot=bot)
        data = payloads.message(message_id, channel_id, author, content)
        data.update(guild_id=str(GUILD_ID), member=payloads.member(None))
        data["mentions"] = [BOT_USER] if mention_bot else []
        data["mention_everyone"] = "@everyone" in content
        if reply_to is not None:
            data["type"] = 19
            data["message_reference"] = {"message_id": str(reply_to), "channel_id": str(channel_id)}
            data["referenced_message"] = self._as_message(self.posted[reply_to])
        await self.dispatch("MESSAGE_CREATE", data)
        return message_id

    async def open_thread(self, parent_id: int = CHANNEL_ID, name: str = "a thread") -> int:
        """A user opens a thread in a channel (the bot hears THREAD_CREATE); returns the thread's id."""
        thread_id = next(self._ids)
        self.user_threads[thread_id] = parent_id
        await self.dispatch(
            "THREAD_CREATE", {**payloads.thread(thread_id, parent_id, name, owner_id=1), "newly_created": True}
        )
        return thread_id

    async def slash(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        user_id: int = 1,
        admin: bool = False,
        roles=(),
        channel_id: int = CHANNEL_ID,
    ) -> str:
        """A user runs a slash command in a channel or thread, with options (text, true/false, or an attached
        file: fake_attachments.Upload); returns the interaction token."""
        interaction_id = next(self._ids)
        command: dict[str, Any] = {"id": str(next(self._ids)), "name": name, "type": 1}
        command.update(self.attachments.command_data(options or {}, f"http://127.0.0.1:{self.port}"))
        if any(c["name"] == name for c in self.commands.get(str(GUILD_ID), [])):
            command["guild_id"] = str(GUILD_ID)
        await self.dispatch(
            "INTERACTION_CREATE", self.interaction(interaction_id, 2, command, user_id, admin, roles, channel_id)
        )
        return f"interaction-token-{interaction_id}"

    def interaction(
        self,
        interaction_id: int,
        kind: int,
        data: dict[str, Any],
        user_id: int,
        admin: bool = False,
        roles=(),
        channel_id: int = CHANNEL_ID,
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE payload: `kind` 2 is a slash command, 3 a button press (fake_components.py).

        Its token is "interaction-token-<interaction_id>".
        """
        return {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": kind,
            "token": f"interaction-token-{interaction_id}",
            "version": 1,
            "guild_id": str(GUILD_ID),
            "channel_id": str(channel_id),
            "channel": self._channel_payload(channel_id),
            "member": payloads.member(
                payloads.user(user_id, f"user{user_id}"), roles, permissions=str(MANAGE_GUILD if admin else 0)
            ),
            "data": data,
            "app_permissions": "0",
            "attachment_size_limit": 8_000_000,
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
        }

    def _channel_payload(self, channel_id: int) -> dict[str, Any]:
        """The channel object of an interaction: a text channel, or a thread users opened."""
        if channel_id in self.user_threads:
            return payloads.thread(channel_id, self.user_threads[channel_id], "a thread", owner_id=1)
        return {"id": str(channel_id), "type": 0, "guild_id": str(GUILD_ID), "name": f"channel-{channel_id}"}

    async def wait_until(self, check: Callable[[], Any], timeout: float = 60) -> Any:
        """Wait until `check()` returns something truthy (re-checked on every bot request)."""
        async with self._changed:
            result = check()
            deadline = time.monotonic() + timeout
            while not result:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out waiting for {getattr(check, '__name__', check)}")
                try:
                    await asyncio.wait_for(self._changed.wait(), left)
                except TimeoutError:
                    pass
                result = check()
            return result

    def replies_to(self, message_id: int) -> list[Posted]:
        return [p for p in self.posted.values() if p.reply_to == message_id]

    def followups(self, token: str) -> list[Posted]:
        return [p for p in self.posted.values() if p.webhook_token == token]

    def callback(self, token: str) -> dict[str, Any] | None:
        """The bot's response to an interaction (the body it sent to its callback), once it came."""
        return next((c for c in self.callbacks if c["token"] == token), None)

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway event; while the bot is disconnected it waits for a RESUME to replay it."""
        await self.identified.wait()
        frame = json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})
        self._events.append(frame)
        if self._socket is not None:
            await self._socket.send_str(frame)

    # ---- faults

    async def drop_gateway(self, code: int | None = 4000) -> None:
        """Close the gateway websocket with `code`, or cut the connection without a close frame (None)."""
        socket, self._socket = self._socket, None
        if socket is None:
            return
        if code is None:
            self._transport.abort()
        else:
            await socket.close(code=code, message=b"fault injected by the test")

    async def network_down(self) -> None:
        """Cut the gateway, and every request from now on, until `network_up()`."""
        self.faults.network_down()
        await self.drop_gateway(None)

    def network_up(self) -> None:
        self.faults.network_up()

    # ---- REST

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": 1, "session_start_limit": limit})

    async def _sync_commands(self, request: web.Request) -> web.Response:
        commands = await request.json()
        for command in commands:
            command.update(id=str(next(self._ids)), application_id=str(APP_ID), version="1")
        await self._record(lambda: self.commands.__setitem__(request.match_info.get("guild", "global"), commands))
        return json_response(commands)

    async def _create_message(self, request: web.Request) -> web.Response:
        payload = await request.json()
        reference = payload.get("message_reference") or {}
        reply_to = int(reference["message_id"]) if reference.get("message_id") else None
        channel = int(request.match_info["channel"])
        posted = Posted(next(self._ids), channel, payload.get("content", ""), payload, reply_to)
        await self._record(lambda: self.posted.__setitem__(posted.id, posted))
        return json_response(self._as_message(posted))

    async def _followup(self, request: web.Request) -> web.Response:
        payload = await request.json()
        posted = Posted(next(self._ids), CHANNEL_ID, payload.get("content", ""), payload)
        posted.webhook_token = request.match_info["token"]
        await self._record(lambda: self.posted.__setitem__(posted.id, posted))
        return json_response(self._as_message(posted))

    async def _edit_message(self, request: web.Request) -> web.Response:
        payload = await request.json()
        posted = self.posted[int(request.match_info["message"])]

        def apply() -> None:
            posted.edits.append(payload)
            posted.content = payload.get("content", posted.content)
            posted.edit_times.append(time.monotonic())

        await self._record(apply)
        return json_response(self._as_message(posted))

    async def _typing(self, request: web.Request) -> web.Response:
        await self._record(lambda: self.typing.append(int(request.match_info["channel"])))
        return web.Response(status=204)

    async def _create_thread(self, request: web.Request) -> web.Response:
        payload = await request.json()
        thread = payloads.thread(next(self._ids), CHANNEL_ID, payload["name"], owner_id=BOT_ID)
        await self._record(lambda: self.threads.append(thread))
        return json_response(thread, status=201)

    async def _callback(self, request: web.Request) -> web.Response:
        payload = await request.json()
        payload["interaction_id"] = request.match_info["id"]
        payload["token"] = request.match_info["token"]
        await self._record(lambda: self.callbacks.append(payload))
        interaction = {"id": request.match_info["id"], "type": 2, "response_message_loading": payload["type"] == 5}
        return json_response({"interaction": interaction, "resource": {"type": payload["type"]}})

    async def _record(self, change: Callable[[], None]) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()

    def _as_message(self, posted: Posted) -> dict[str, Any]:
        data = payloads.message(posted.id, posted.channel_id, BOT_USER, posted.content)
        data["guild_id"] = str(GUILD_ID)
        data["components"] = posted.components
        return data

    def message_data(self, message_id: int) -> dict[str, Any]:
        """A message the bot posted, as Discord sends it in events (tests/fake_components.py builds on it)."""
        return self._as_message(self.posted[message_id])

    def next_id(self) -> int:
        """A new snowflake for an event a test sends."""
        return next(self._ids)

    # ---- gateway

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if self.gateway_down:
            await self._record(lambda: setattr(self, "gateway_refused", self.gateway_refused + 1))
            return web.Response(status=503, text="gateway outage injected by the test")
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._transport = request.transport
        await socket.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_ms}}))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                break
            message = json.loads(frame.data)
            if message["op"] == 1:  # heartbeat
                await self._record(lambda: self.heartbeats.append(time.monotonic()))
                await socket.send_str(json.dumps({"op": 11}))
            elif message["op"] == 6:  # resume
                if not await self._resume(socket, message["d"]):
                    break
            elif message["op"] == 2:  # identify
                if message["d"]["token"] != self.token:
                    await socket.close(code=4004, message=b"Authentication failed.")
                    break
                if message["d"].get("intents", 0) & MESSAGE_CONTENT_INTENT and not self.message_content_allowed:
                    await socket.close(code=4014, message=b"Disallowed intent(s).")
                    break
                await self._record(lambda: setattr(self, "identifies", self.identifies + 1))
                self._socket = socket
                await self._ready(socket)
        return socket

    async def _resume(self, socket: web.WebSocketResponse, data: dict[str, Any]) -> bool:
        """Replay the events the bot missed, then RESUMED; or INVALID_SESSION. False: the socket was closed."""
        if data["token"] != self.token:
            await socket.close(code=4004, message=b"Authentication failed.")
            return False
        await self._record(lambda: self.resumes.append({"seq": data["seq"], "session_id": data["session_id"]}))
        if not self.resume_allowed or data["session_id"] != SESSION_ID:
            await socket.send_str(json.dumps({"op": 9, "d": False}))
            return True
        seen = data["seq"] or 0
        # Events dispatched during the replay are replayed too; after it, new ones go straight to this socket.
        replayed = 0
        while replayed < len(self._events):
            frame = self._events[replayed]
            replayed += 1
            if json.loads(frame)["s"] > seen:
                await socket.send_str(frame)
        self._socket = socket
        await socket.send_str(json.dumps({"op": 0, "t": "RESUMED", "s": next(self._seq), "d": {}}))
        return True

    async def _ready(self, socket: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": SESSION_ID,
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
            "application": {"id": str(APP_ID), "flags": 0},
        }
        await socket.send_str(json.dumps({"op": 0, "t": "READY", "s": next(self._seq), "d": ready}))
        await socket.send_str(json.dumps({"op": 0, "t": "GUILD_CREATE", "s": next(self._seq), "d": payloads.guild()}))
        self.identified.set()

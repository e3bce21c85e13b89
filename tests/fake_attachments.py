"""Files attached to slash commands, as the local Discord-compatible server (fake_discord.py) offers them.

Discord sends an attachment option as the attachment's id, with the attachment itself (name, size,
URL) under `data.resolved.attachments`; the bot downloads it from that URL. Here the URL points back
at the local server, which serves the bytes on 127.0.0.1 and counts each download.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from aiohttp import web

ROUTE = "/attachments/{id}/{filename}"
OPTION_TYPES = {str: 3, int: 4, bool: 5}
ATTACHMENT_OPTION = 11


@dataclass(frozen=True)
class Upload:
    """A file a user attaches to a slash command; `claimed_size` is what Discord says its size is."""

    filename: str
    data: bytes
    claimed_size: int | None = None


class Attachments:
    """Serves the attached files and builds the options and `resolved` data that point at them."""

    def __init__(self) -> None:
        self.files: dict[int, bytes] = {}
        self.downloads: list[int] = []  # attachment ids, one per download
        self._ids = itertools.count(50_000)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(ROUTE, self._serve)

    def command_data(self, options: dict[str, Any], base_url: str) -> dict[str, Any]:
        """The `options` and `resolved` of an interaction's command data for these {name: value} options."""
        listed: list[dict[str, Any]] = []
        resolved: dict[str, dict[str, Any]] = {}
        for name, value in options.items():
            if isinstance(value, Upload):
                attachment = self._attach(value, base_url)
                resolved[attachment["id"]] = attachment
                listed.append({"name": name, "type": ATTACHMENT_OPTION, "value": attachment["id"]})
            else:
                listed.append({"name": name, "type": OPTION_TYPES[type(value)], "value": value})
        return {"options": listed, "resolved": {"attachments": resolved}} if resolved else {"options": listed}

    def _attach(self, upload: Upload, base_url: str) -> dict[str, Any]:
        attachment_id = next(self._ids)
        self.files[attachment_id] = upload.data
        url = f"{base_url}/attachments/{attachment_id}/download"  # Discord's URLs carry a sanitised name
        size = len(upload.data) if upload.claimed_size is None else upload.claimed_size
        return {"id": str(attachment_id), "filename": upload.filename, "size": size, "url": url, "proxy_url": url}

    async def _serve(self, request: web.Request) -> web.Response:
        attachment_id = int(request.match_info["id"])
        if attachment_id not in self.files:
            return web.Response(status=404)
        self.downloads.append(attachment_id)
        return web.Response(body=self.files[attachment_id], content_type="application/octet-stream")

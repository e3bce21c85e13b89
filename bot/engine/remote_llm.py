"""A language model behind an OpenAI-compatible HTTP server (llama.cpp's llama-server, vLLM).

Several bot processes or shards can then share one GPU server instead of each loading a model.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from docbot.engine.llm import Message
from docbot.errors import ModelError, ModelServerError

log = logging.getLogger("docbot.engine")

CONNECT_TIMEOUT_SECONDS = 5.0  # at most; a shorter llm_timeout_seconds shortens it too
ATTEMPTS = 2  # one retry: a server restarting or briefly overloaded often answers the second time
RETRY_PAUSE_SECONDS = 0.5
ERROR_BODY_CHARS = 200
END_OF_STREAM = "[DONE]"


class OpenAICompatibleModel:
    """Streams chat completions from `url` (e.g. http://127.0.0.1:8080/v1) over server-sent events."""

    def __init__(self, url: str, model: str, api_key: str, timeout_seconds: float) -> None:
        """`model` is the name sent to the server; `api_key` ("" for none) its bearer token; `timeout_seconds`
        the longest wait to connect, for the first piece (a busy server may queue the request) or the next."""
        self.name = model
        self.url = url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # One client per model keeps the connection alive between questions; close() ends it.
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS, timeout_seconds)),
        )

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        """Text pieces of the assistant's reply as the server sends them.

        A server that cannot be reached, times out or fails (5xx) before the first piece is tried once
        more; then, or after a piece was shown, ModelServerError.
        """
        payload = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        for attempt in range(1, ATTEMPTS + 1):
            started = False
            try:
                for piece in self._stream_once(payload):
                    started = True
                    yield piece
                return
            except ModelServerError as exc:
                if started or attempt == ATTEMPTS:
                    raise
                log.warning("%s (trying once more)", exc)
                time.sleep(RETRY_PAUSE_SECONDS)

    def _stream_once(self, payload: dict) -> Iterator[str]:
        try:
            with connect_sse(self._client, "POST", self.url, json=payload) as events:
                response = events.response
                if response.status_code != 200:
                    body = " ".join(response.read().decode("utf-8", "replace").split())[:ERROR_BODY_CHARS]
                    failed = ModelServerError if response.status_code >= 500 else ModelError
                    raise failed(f"model server {self.url} answered HTTP {response.status_code}: {body}")
                for event in events.iter_sse():
                    if event.data == END_OF_STREAM:
                        return
                    piece = self._piece(event)
                    if piece:
                        yield piece
        except httpx.ConnectError:
            raise ModelServerError(f"cannot reach the model server at {self.url}: is it running?") from None
        except httpx.TimeoutException:
            raise ModelServerError(f"the model server at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:  # SSEError (not an event stream) included
            raise ModelError(f"talking to the model server at {self.url} failed: {exc}") from None

    def _piece(self, event: ServerSentEvent) -> str:
        """The text one event adds to the reply ("" for none)."""
        try:
            choice = json.loads(event.data)["choices"][0]
        except (ValueError, KeyError, IndexError, TypeError):
            raise ModelError(f"the model server at {self.url} sent an unreadable event: {event.data[:80]}") from None
        return (choice.get("delta") or {}).get("content") or ""

    def close(self) -> None:
        """Close the connection to the server."""
        self._client.close()

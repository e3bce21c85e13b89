"""A language model behind an OpenAI-compatible HTTP server (llama.cpp's llama-server, vLLM).

Several bot processes or shards can then share one GPU server instead of each loading a model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
from httpx_sse import ServerSentEvent, connect_sse

from docbot.engine.llm import Message
from docbot.errors import ModelError

CONNECT_TIMEOUT_SECONDS = 5.0
# Between two streamed pieces; a busy server may queue the request before the first one.
READ_TIMEOUT_SECONDS = 120.0
ERROR_BODY_CHARS = 200
END_OF_STREAM = "[DONE]"


class OpenAICompatibleModel:
    """Streams chat completions from `url` (e.g. http://127.0.0.1:8080/v1) over server-sent events."""

    def __init__(self, url: str, model: str, api_key: str) -> None:
        """`model` is the name sent to the server; `api_key` ("" for none) its bearer token."""
        self.name = model
        self.url = url.rstrip("/") + "/chat/completions"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # One client per model keeps the connection alive between questions; close() ends it.
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(READ_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS),
        )

    def stream(self, messages: list[Message], max_tokens: int, temperature: float) -> Iterator[str]:
        """Text pieces of the assistant's reply as the server sends them."""
        payload = {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": True,
        }
        try:
            with connect_sse(self._client, "POST", self.url, json=payload) as events:
                response = events.response
                if response.status_code != 200:
                    body = " ".join(response.read().decode("utf-8", "replace").split())[:ERROR_BODY_CHARS]
                    raise ModelError(f"model server {self.url} answered HTTP {response.status_code}: {body}")
                for event in events.iter_sse():
                    if event.data == END_OF_STREAM:
                        return
                    piece = self._piece(event)
                    if piece:
                        yield piece
        except httpx.ConnectError:
            raise ModelError(f"cannot reach the model server at {self.url}: is it running?") from None
        except httpx.TimeoutException:
            raise ModelError(f"the model server at {self.url} did not answer in time") from None
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

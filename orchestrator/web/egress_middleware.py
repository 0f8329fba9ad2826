"""The web app's egress seam: every response body (pages, JSON, live streams) is redacted.

Pure ASGI, outermost: whatever a handler or template renders, the bytes that leave the app
have passed the deployment's redactor. A body is collected and redacted whole (its length
corrected); an event stream (``text/event-stream``) is redacted event by event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator.redaction import Redactor

Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]


class RedactingMiddleware:
    def __init__(self, app: Any, redactor: Redactor):
        self.app = app
        self.redactor = redactor

    async def __call__(self, scope: dict, receive: Callable, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        streaming = False
        chunks: list[bytes] = []

        async def redacting_send(message: Message) -> None:
            nonlocal start, streaming
            if message["type"] == "http.response.start":
                start = message
                streaming = _content_type(message).startswith(b"text/event-stream")
                if streaming:  # an event stream: each event is one chunk, redacted as it goes
                    await send(_with_length(message, None))
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            if streaming:
                await send({**message, "body": self.redactor.bytes(message.get("body", b""))})
                return
            # Anything else is redacted whole: a secret split across two chunks is still found.
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = self.redactor.bytes(b"".join(chunks))
            await send(_with_length(start or {"type": "http.response.start", "status": 200}, len(body)))
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, redacting_send)


def _content_type(start: Message) -> bytes:
    return next((v.lower() for k, v in start.get("headers", []) if k.lower() == b"content-type"), b"")


def _with_length(start: Message, length: int | None) -> Message:
    """``start`` with its Content-Length set to ``length`` (dropped for a stream)."""
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {**start, "headers": headers}

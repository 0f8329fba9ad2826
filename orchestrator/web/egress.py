"""The web app's egress seam: every response body (pages, JSON, live streams) is redacted.

Pure ASGI, outermost: whatever a handler or template renders, the bytes that leave the app
have passed the deployment's redactor. A whole body is redacted at once (and its length
corrected); a streamed body is redacted chunk by chunk.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

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

        async def redacting_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            body = self.redactor.bytes(message.get("body", b""))
            more = message.get("more_body", False)
            if start is not None:
                await send(_with_length(start, None if more else len(body)))
                start = None
            await send({**message, "body": body})

        await self.app(scope, receive, redacting_send)
        if start is not None:  # a response with no body message at all
            await send(start)


def _with_length(start: Message, length: int | None) -> Message:
    """``start`` with its Content-Length set to ``length`` (dropped for a stream)."""
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {**start, "headers": headers}

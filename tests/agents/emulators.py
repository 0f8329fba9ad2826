"""Local HTTP servers speaking the providers' wire formats, for the real client libraries.

``OpenAIEmulator`` (``POST /v1/chat/completions``), ``AnthropicEmulator`` (``POST /v1/messages``)
and ``OllamaEmulator`` (``POST /api/chat``) listen on 127.0.0.1 at a random port. They answer
from a script of ``Reply`` objects (or a function of the request) and keep every request
(body and headers) so tests can check what the client really sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agents.cassette import Cassette
from agents.catalogue import ModelSpec


@dataclass
class Reply:
    """One model answer as the emulator will put it on the wire."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    input_tokens: int = 100
    output_tokens: int = 20
    cached_tokens: int = 0
    status: int = 200
    """Non-200: answer with a provider-style error body instead."""
    raw_tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """Tool calls whose arguments go on the wire exactly as given (malformed JSON, cut replies)."""
    finish_reason: str = ""
    """Overrides the finish reason (``length`` for a reply cut at the output-token limit)."""
    refusal: str = ""
    """OpenAI's ``refusal`` field: the model declined."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response headers (``Retry-After`` on a 429)."""
    drop_connection: bool = False
    """Close the connection without answering (a reset mid-request)."""
    cut_body: bool = False
    """Send the headers and half the body, then close (a reply cut mid-transfer)."""


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def replies_from_cassette(cassette: Cassette, attempt: int = 1, **usage: int) -> list[Reply]:
    """The turns of a cassette's code attempt as wire replies (a live model acting it out)."""
    return [
        Reply(text=t.say, tool_calls=[(t.tool, dict(t.args))] if t.tool else [], **usage)
        for t in cassette.attempt_turns(attempt) or []
    ]


class _Emulator:
    path = "/"

    def __init__(self, replies: Iterable[Reply] | Callable[[dict[str, Any]], Reply], port: int = 0):
        """``port`` 0 picks a free one; a given port brings a stopped server back at the same URL."""
        self._script = replies if callable(replies) else list(replies)
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> _Emulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if callable(self._script):
                return self._script(body)
            if not self._script:
                return Reply(status=500, text="emulator script exhausted: the client made more calls than scripted")
            return self._script.pop(0)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw or b"{}")
                emulator.requests.append(Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                if self.path.rstrip("/") != emulator.path:
                    return self._send(404, {"error": {"message": f"emulator serves {emulator.path}, not {self.path}"}})
                reply = emulator.next_reply(body)
                if reply.drop_connection:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                if reply.status != 200:
                    return self._send(reply.status, emulator.error_body(reply), headers=reply.headers)
                self.cut_body = reply.cut_body
                emulator.respond(self, body, reply)  # type: ignore[attr-defined]

            def _send(
                self,
                status: int,
                payload: Any,
                content_type: str = "application/json",
                headers: dict[str, str] | None = None,
            ) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                if getattr(self, "cut_body", False):
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(data)

        return Handler

    def error_body(self, reply: Reply) -> dict[str, Any]:
        return {"error": {"message": reply.text or "emulated failure", "type": "server_error"}}


class OpenAIEmulator(_Emulator):
    path = "/v1/chat/completions"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def model_spec(self, name: str, model_id: str, **fields: Any) -> ModelSpec:
        """A catalogue entry for a model this emulator serves, its key read from ``OPENAI_API_KEY``;
        ``fields`` sets the rest (prices, context window)."""
        return ModelSpec(
            name=name,
            provider="openai",
            model_id=model_id,
            base_url=self.base_url,
            api_key_env="OPENAI_API_KEY",
            **fields,
        )

    def respond(self, handler: Any, body: dict[str, Any], reply: Reply) -> None:
        calls = [
            {"id": f"call_{len(self.requests)}_{i}", "type": "function", "function": {"name": name, "arguments": args}}
            for i, (name, args) in enumerate([(n, json.dumps(a)) for n, a in reply.tool_calls] + reply.raw_tool_calls)
        ]
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if calls:
            message["tool_calls"] = calls
        if reply.refusal:
            message["refusal"] = reply.refusal
        handler._send(
            200,
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": reply.finish_reason or ("tool_calls" if calls else "stop"),
                    }
                ],
                "usage": {
                    "prompt_tokens": reply.input_tokens,
                    "completion_tokens": reply.output_tokens,
                    "total_tokens": reply.input_tokens + reply.output_tokens,
                    "prompt_tokens_details": {"cached_tokens": reply.cached_tokens},
                },
            },
        )


class AnthropicEmulator(_Emulator):
    path = "/v1/messages"

    @property
    def base_url(self) -> str:
        return self.url

    def error_body(self, reply: Reply) -> dict[str, Any]:
        return {"type": "error", "error": {"type": "api_error", "message": reply.text or "emulated failure"}}

    def respond(self, handler: Any, body: dict[str, Any], reply: Reply) -> None:
        content: list[dict[str, Any]] = [{"type": "text", "text": reply.text}] if reply.text else []
        content += [
            {"type": "tool_use", "id": f"toolu_{len(self.requests)}_{i}", "name": name, "input": args}
            for i, (name, args) in enumerate(reply.tool_calls)
        ]
        handler._send(
            200,
            {
                "id": f"msg_{len(self.requests)}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": content,
                "stop_reason": reply.finish_reason or ("tool_use" if reply.tool_calls else "end_turn"),
                "stop_sequence": None,
                # Anthropic reports uncached input separately from cache reads.
                "usage": {
                    "input_tokens": reply.input_tokens - reply.cached_tokens,
                    "output_tokens": reply.output_tokens,
                    "cache_read_input_tokens": reply.cached_tokens,
                    "cache_creation_input_tokens": 0,
                },
            },
        )


class OllamaEmulator(_Emulator):
    path = "/api/chat"

    @property
    def base_url(self) -> str:
        return self.url

    def respond(self, handler: Any, body: dict[str, Any], reply: Reply) -> None:
        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.tool_calls:
            message["tool_calls"] = [{"function": {"name": n, "arguments": a}} for n, a in reply.tool_calls]
        final = {
            "model": body.get("model"),
            "created_at": "2026-11-28T00:00:00Z",
            "message": message,
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": reply.input_tokens,
            "eval_count": reply.output_tokens,
        }
        if body.get("stream", True):
            # Streamed as Ollama does: the text in a first chunk, then the final chunk with the
            # tool calls and the counts (``cut_body`` stops the stream in the middle).
            first = {
                "model": body.get("model"),
                "created_at": "2026-11-28T00:00:00Z",
                "message": {"role": "assistant", "content": reply.text},
                "done": False,
            }
            final["message"] = {**message, "content": ""}
            lines = [json.dumps(first), json.dumps(final)]
            handler._send(200, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")
        else:
            handler._send(200, final)

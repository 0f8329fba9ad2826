"""Recording real runs as cassettes (``shipyard record``).

``CassetteRecording.wrap`` has the signature of ``ModelRouter``'s ``wrap`` hook: every model
the router builds is wrapped in a ``RecordingChatModel`` that passes calls through to the
real model and appends each answer to the cassette (saved after every turn, so a crash keeps
what was recorded). Exit codes and tool errors seen by the next call become ``expect``
entries, so a replay notices when the repository no longer behaves as recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agents.cassette import parse_cassette
from agents.catalogue import ModelSpec, spec_of
from agents.scripted import CassetteChatModel


class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (code) as ``|`` blocks so cassettes stay reviewable."""


def _str_representer(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    style = "|" if "\n" in data and not any(c in data for c in "\r\t") and data == data.rstrip(" ") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def _usage(reply: AIMessage) -> dict[str, int] | None:
    meta = reply.usage_metadata
    if not meta:
        return None
    cached = int((meta.get("input_token_details") or {}).get("cache_read") or 0)
    return {
        "input_tokens": int(meta["input_tokens"]),
        "output_tokens": int(meta["output_tokens"]),
        "cached_input_tokens": cached,
    }


def _text(reply: AIMessage) -> str:
    if isinstance(reply.content, str):
        return reply.content
    return "".join(b.get("text", "") for b in reply.content if isinstance(b, dict) and b.get("type") == "text")


class CassetteRecording:
    """Accumulates one ticket's recorded turns and writes them to ``path``."""

    def __init__(self, path: Path, name: str | None = None):
        self.path = Path(path)
        self.data: dict[str, Any] = {"name": name or self.path.stem, "code": []}

    def wrap(self, model: BaseChatModel, role: str, attempt: int) -> BaseChatModel:
        spec = spec_of(model)
        if "recorded_with" not in self.data or role == "code":
            self.data["recorded_with"] = {
                "name": spec.name,
                "provider": spec.provider,
                "model_id": spec.model_id,
                "price_input": spec.price_input,
                "price_output": spec.price_output,
                "price_cached_input": spec.price_cached_input,
                "context_window": spec.context_window,
            }
        return RecordingChatModel(inner=model, recording=self, role=role, attempt=attempt)

    def add(self, role: str, attempt: int, reply: AIMessage, prompt: Sequence[BaseMessage]) -> None:
        usage = _usage(reply)
        if role == "triage":
            call = next((c for c in reply.tool_calls if c["name"] == "TriageAnswer"), None)
            if call is not None:
                self.data["triage"] = dict(call["args"])
                if usage:
                    self.data["triage_usage"] = usage
        elif role == "plan":
            self.data["plan"] = _text(reply)
            if usage:
                self.data["plan_usage"] = usage
        elif role == "code":
            self._add_code_turns(attempt, reply, prompt, usage)
        self.save()

    def _add_code_turns(
        self, attempt: int, reply: AIMessage, prompt: Sequence[BaseMessage], usage: dict | None
    ) -> None:
        attempts: list[list[dict[str, Any]]] = self.data["code"]
        while len(attempts) < attempt:
            attempts.append([])
        turns = attempts[attempt - 1]
        self._expect_from_results(turns, prompt)
        calls = reply.tool_calls or [None]
        for i, call in enumerate(calls):
            turn: dict[str, Any] = {}
            if i == 0 and _text(reply):
                turn["say"] = _text(reply)
            if call is not None:
                turn["tool"], turn["args"], turn["call_id"] = call["name"], dict(call["args"]), call.get("id")
            if i == 0 and usage:
                turn["usage"] = usage
            turns.append(turn)

    @staticmethod
    def _expect_from_results(turns: list[dict[str, Any]], prompt: Sequence[BaseMessage]) -> None:
        results = {m.tool_call_id: m for m in prompt if isinstance(m, ToolMessage)}
        for turn in turns:
            result = results.get(turn.get("call_id") or "")
            if result is None or "expect" in turn:
                continue
            artifact = result.artifact if isinstance(result.artifact, dict) else {}
            if turn.get("tool") in ("bash", "run_tests") and "exit_code" in artifact:
                turn["expect"] = {"exit_code": artifact["exit_code"]}
            elif turn.get("tool") in ("edit", "create"):
                turn["expect"] = {"ok": result.status != "error"}

    def as_yaml(self) -> str:
        order = ("name", "recorded_with", "triage", "triage_usage", "plan", "plan_usage")
        clean = {k: self.data[k] for k in order if k in self.data}
        code = [[{k: v for k, v in t.items() if k != "call_id"} for t in attempt] for attempt in self.data["code"]]
        if code:
            clean["code"] = code
        return yaml.dump(clean, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100)

    def save(self) -> Path:
        """Write the cassette (validated by the same loader replays use)."""
        text = self.as_yaml()
        parse_cassette(text, self.path.name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("# Recorded by shipyard record; see agents/CASSETTES.md.\n" + text, encoding="utf-8")
        return self.path


class RecordingChatModel(CassetteChatModel):
    """Passes every call to ``inner`` and records the answer for ``role``/``attempt``."""

    inner: BaseChatModel
    recording: Any
    role: str
    attempt: int = 1

    @property
    def _llm_type(self) -> str:
        return f"recording-{self.inner._llm_type}"

    @property
    def model_spec(self) -> ModelSpec:
        return spec_of(self.inner)

    def answer(
        self, messages: list[BaseMessage], tools: list[Any], tool_choice: str | None, **kwargs: Any
    ) -> AIMessage:
        """The inner model's reply, recorded."""
        runnable: Any = self.inner.bind_tools(tools, tool_choice=tool_choice) if tools else self.inner
        reply = runnable.invoke(messages, **kwargs)
        self.recording.add(self.role, self.attempt, reply, messages)
        return reply

"""Context discipline: keep what the model reads small and useful.

Tool outputs are cut to head + tail with the elided amount stated; when the running prompt
passes a share of the model's window, older observations are replaced by a summary
(``HistoryCompactor``), so long trajectories cost roughly linear, not quadratic, tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agents import prompts
from agents.accounting import estimate_prompt_tokens, price_call
from agents.observers import CallRecorder
from agents.replies import reply_text, unusable_reply

ELIDED_MARK = "[... {n} characters elided ...]"


def truncate_middle(text: str, limit: int, *, tail_share: float = 0.6) -> str:
    """Keep the head and the tail of ``text`` within ``limit`` characters, saying how much was cut.

    The tail gets the larger share because errors and test summaries come last."""
    if limit <= 0 or len(text) <= limit:
        return text
    tail = int(limit * tail_share)
    head = limit - tail
    cut = len(text) - head - tail
    return f"{text[:head]}\n{ELIDED_MARK.format(n=cut)}\n{text[len(text) - tail :]}"


@dataclass
class HistoryCompactor:
    """Replaces older tool observations with a summary once the prompt gets large.

    With ``summarizer`` (a cheap model) the summary is written by that model and its call is
    accounted under role ``summarize``; without one, a mechanical digest (tool, arguments, first
    line of the result) is used, which costs nothing."""

    summarizer: Any = None
    """Chat model for summaries; ``None`` or a scripted model → mechanical digest."""
    summarizer_factory: Callable[[], Any] | None = None
    """Builds ``summarizer`` on the first compaction, so an attempt that never compacts
    routes (and records) no summary model."""
    recorder: CallRecorder | None = None
    """Receives the summarizer's ``UsageRecord`` and a ``compaction`` event."""
    keep_recent: int = 4
    """Most recent observations always kept verbatim."""
    calls: int = 0

    def compact(self, messages: list[BaseMessage]) -> list[BaseMessage]:
        """A shorter history: system + task, a summary of old observations, the recent turns."""
        keep = max(self.keep_recent, 1)  # the latest observation always stays verbatim
        tool_positions = [i for i, m in enumerate(messages) if isinstance(m, ToolMessage)]
        if len(tool_positions) <= keep:
            return messages
        cut = tool_positions[-keep]
        # Keep the AI message that issued the first kept observation with it.
        while cut > 0 and not isinstance(messages[cut - 1], AIMessage):
            cut -= 1
        cut = max(cut - 1, 0)
        head = [m for m in messages[:cut] if isinstance(m, SystemMessage)][:1]
        task = next((m for m in messages[:cut] if isinstance(m, HumanMessage)), None)
        old = [m for m in messages[:cut] if not isinstance(m, SystemMessage) and m is not task]
        if not old:
            return messages
        summary = self._summarize(old)
        before = estimate_prompt_tokens(messages)
        compacted = [
            *head,
            *([task] if task else []),
            HumanMessage(content=f"Summary of earlier work:\n{summary}"),
            *messages[cut:],
        ]
        if self.recorder is not None:
            self.recorder.event(
                "compaction",
                f"history compacted: {len(old)} older messages summarised "
                f"(~{before} → ~{estimate_prompt_tokens(compacted)} prompt tokens)",
            )
        return compacted

    def _summarize(self, old: Sequence[BaseMessage]) -> str:
        digest = mechanical_digest(old)
        if self.summarizer is None and self.summarizer_factory is not None:
            self.summarizer, self.summarizer_factory = self.summarizer_factory(), None
        if self.summarizer is None or getattr(self.summarizer, "scripted", False):
            return digest
        self.calls += 1
        observations = truncate_middle(_transcript(old), 24_000)
        prompt = [HumanMessage(content=prompts.render("summary_request", observations=observations))]
        started = time.monotonic()
        try:
            reply = self.summarizer.invoke(prompt)
        except Exception as exc:  # noqa: BLE001 — a failed summary must not end the attempt; fall back
            if self.recorder is not None:
                self.recorder.event("compaction", f"summary model failed ({exc}); used a mechanical digest")
            return digest
        if self.recorder is not None:
            self.recorder.usage(
                price_call(
                    self.summarizer,
                    reply,
                    prompt,
                    role="summarize",
                    step=self.calls,
                    latency_s=time.monotonic() - started,
                )
            )
        text = reply_text(reply).strip()
        problem = unusable_reply(reply) or ("" if text else "the reply was empty")
        if problem:  # a cut, refused or empty summary would lose facts: the digest keeps them
            if self.recorder is not None:
                self.recorder.event("compaction", f"summary unusable ({problem}); used a mechanical digest")
            return digest
        return text


def _gist(text: Any, limit: int = 160) -> str:
    """First non-empty line; for commands also the last one (where results and errors are)."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    if not lines:
        return "(empty)"
    gist = lines[0][:limit]
    if lines[0].startswith("exit code:") and len(lines) > 1:
        last = lines[-1]
        gist += " … " + (last if len(last) <= limit else "…" + last[-limit:])
    return gist


def mechanical_digest(messages: Sequence[BaseMessage]) -> str:
    """One line per tool call: what was called and the first line of what came back."""
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolMessage)}
    lines = []
    for m in messages:
        if isinstance(m, AIMessage):
            for call in m.tool_calls:
                args = ", ".join(f"{k}={str(v)[:60]!r}" for k, v in call["args"].items())
                res = results.get(call.get("id") or "")
                lines.append(f"- {call['name']}({args}) → {_gist(res.content) if res else '(no result)'}")
        elif isinstance(m, HumanMessage) and str(m.content).startswith("Summary of earlier work:"):
            lines.append(str(m.content).removeprefix("Summary of earlier work:\n"))
    return "\n".join(lines) or "- (no tool calls)"


def _transcript(messages: Sequence[BaseMessage]) -> str:
    parts = []
    for m in messages:
        if isinstance(m, AIMessage):
            calls = "; ".join(f"{c['name']}({c['args']})" for c in m.tool_calls)
            parts.append(f"ASSISTANT: {m.content} {calls}".strip())
        elif isinstance(m, ToolMessage):
            parts.append(f"RESULT: {truncate_middle(str(m.content), 2000)}")
        else:
            parts.append(f"USER: {m.content}")
    return "\n".join(parts)

"""What is wrong with a model's reply, read from the provider-neutral ``AIMessage``: tool calls
whose arguments did not parse, a reply cut at the output-token limit, a refusal. The loop answers
each with a message the model can act on instead of ending the job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage

from agents import prompts

_CUT_REASONS = {"length", "max_tokens", "model_length"}


@dataclass
class ReplyIssues:
    cut: bool = False
    """The reply stopped at the output-token limit."""
    refusal: str = ""
    """The provider's refusal text, when the model declined."""
    invalid_calls: list[dict[str, Any]] = field(default_factory=list)
    """``AIMessage.invalid_tool_calls``: name, raw args, id, parse error."""


def inspect_reply(reply: AIMessage) -> ReplyIssues:
    meta = reply.response_metadata or {}
    reason = str(meta.get("finish_reason") or meta.get("stop_reason") or meta.get("done_reason") or "")
    refusal = str((reply.additional_kwargs or {}).get("refusal") or "")
    return ReplyIssues(cut=reason in _CUT_REASONS, refusal=refusal, invalid_calls=list(reply.invalid_tool_calls or []))


def invalid_call_message(call: dict[str, Any], tool_names: list[str]) -> ToolMessage:
    """The error answer to a tool call whose arguments could not be parsed."""
    raw = str(call.get("args") or "")
    shown = raw if len(raw) <= 300 else raw[:300] + f"… ({len(raw)} characters)"
    problem = str(call.get("error") or "not a JSON object").splitlines()[0][:300]
    name = call.get("name") or "(no name)"
    return ToolMessage(
        content=prompts.render("invalid_call", name=name, problem=problem, shown=shown, tool_names=tool_names),
        tool_call_id=call.get("id") or "",
        name=name,
        status="error",
    )


def refusal_notice(refusal: str) -> str:
    """What the coding loop tells a model that refused."""
    return prompts.render("reply_refused", refusal=refusal[:200])


def reply_text(reply: AIMessage) -> str:
    content = reply.content
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


def unusable_reply(reply: AIMessage) -> str:
    """Why a reply cannot be used whatever it says (cut, refused), or ''."""
    issues = inspect_reply(reply)
    if issues.cut:
        return "the reply was cut at the output-token limit"
    if issues.refusal:
        return f"the model refused: {issues.refusal[:200]}"
    return ""

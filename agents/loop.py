"""The coding agent: a tool-calling loop that works in the sandbox until it calls ``finish``.

Model-agnostic: any LangChain chat model that supports ``bind_tools`` (real providers or
``ScriptedChatModel``). Every model call is priced and handed to ``recorder.usage``; every
tool call becomes a ``tool`` event on the job's timeline. Policies (budgets, the loop guard,
history compaction) live in their own modules; this file only sequences them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agents import prompts
from agents.accounting import UsageRecord, estimate_prompt_tokens
from agents.budget import BudgetExhausted, BudgetGuard
from agents.catalogue import spec_of
from agents.context import HistoryCompactor
from agents.loopguard import LoopGuard
from agents.metered import metered_invoke
from agents.scripted import ReplayStopped
from agents.tools import ToolSettings, make_tools
from sandboxes.base import Sandbox, SandboxError

StopReason = Literal["finished", "max_steps", "cassette_exhausted", "stuck", "budget", "divergence", "error"]


@dataclass(frozen=True)
class CodingTask:
    """What one coding attempt is asked to do."""

    ticket_title: str
    ticket_body: str
    instructions: str = ""
    """AGENTS.md / CONTRIBUTING.md text from the repository."""
    feedback: str = ""
    """Gate failure summary or reviewer comments from the previous attempt; empty on the first."""
    attempt: int = 1
    test_command: str = "python -m pytest -q"
    """The repository's test command (``run_tests`` runs it)."""
    repo_map: str = ""
    """``agents.repomap.build_repo_map`` output; empty to leave it out."""
    select_test_command: str = ""
    """Selected-tests command with ``{tests}``; empty → selector appended to ``test_command``."""


@dataclass(frozen=True)
class AgentLimits:
    """Bounds of one coding attempt."""

    max_steps: int = 40
    """Model turns per attempt."""
    tool_output_chars: int = 8000
    """Characters of one tool output the model sees (head + tail); 0 = unlimited."""
    command_timeout_s: float = 300.0
    """Wall-clock limit of one ``bash``/``run_tests`` call."""
    compact_at_share: float | None = 0.5
    """Compact history when the prompt passes this share of the model's window; ``None`` = never."""
    compact_at_tokens: int = 24_000
    """...or when it passes this many tokens, whichever comes first."""
    keep_recent_observations: int = 4
    """Tool results kept verbatim when compacting."""
    deadline_epoch: float | None = None
    """Wall-clock deadline of the whole job (``time.time()`` seconds); ``None`` = none."""
    wrap_up_s: float = 120.0
    """Seconds before the deadline at which the agent is told to finish."""
    repeat_limit: int = 3
    """Identical (call, result) pairs tolerated before a nudge, then a stop."""
    max_replies_without_tool: int = 3
    """Turns without any tool call before the attempt ends (stop reason ``stuck``)."""


@dataclass
class AgentResult:
    finished: bool
    """The agent called ``finish`` (says nothing about quality: the gates decide)."""
    summary: str
    """The agent's ``finish`` summary, or why it stopped."""
    steps: int
    stop_reason: StopReason
    detail: str = ""
    """Human-readable cause for any stop other than ``finished``."""
    budget: BudgetExhausted | None = None
    """Set when stop_reason is ``budget`` because a spending limit was hit."""
    usage: list[UsageRecord] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.usage)

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self.usage)


def _short_args(name: str, args: dict[str, Any]) -> str:
    if name == "edit" or name == "create":
        return str(args.get("path", ""))
    if name == "view":
        rng = f":{args.get('start_line')}-{args.get('end_line') or ''}" if args.get("start_line") else ""
        return f"{args.get('path', '')}{rng}"
    if name == "search":
        return f"{args.get('pattern', '')!r} in {args.get('path', '.')}"
    text = str(args.get("command") or args.get("selector") or args.get("summary") or "")
    return text if len(text) <= 120 else text[:117] + "..."


def initial_messages(task: CodingTask, model: Any) -> list[BaseMessage]:
    """System prompt (stable, cacheable prefix) and the task message."""
    system = prompts.code_system_prompt(task.instructions, task.repo_map)
    if spec_of(model).provider == "anthropic":
        # Anthropic caches tools + system when the last system block is marked.
        content: Any = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    else:
        content = system
    task_text = prompts.code_task_prompt(task.ticket_title, task.ticket_body, task.test_command, task.attempt, task.feedback)
    return [SystemMessage(content=content), HumanMessage(content=task_text)]


class _AgentRun:
    def __init__(self, model, sandbox, task, recorder, limits, guard, compactor):
        self.model, self.task, self.recorder, self.limits, self.guard = model, task, recorder, limits, guard
        settings = ToolSettings(
            test_command=task.test_command, select_test_command=task.select_test_command,
            output_chars=limits.tool_output_chars, command_timeout_s=limits.command_timeout_s,
        )
        self.tools = {t.name: t for t in make_tools(sandbox, settings)}
        self.bound = model.bind_tools(list(self.tools.values()))
        self.compactor = compactor or HistoryCompactor(recorder=recorder, keep_recent=limits.keep_recent_observations)
        self.loop_guard = LoopGuard(limits.repeat_limit)
        self.messages = initial_messages(task, model)
        self.usage: list[UsageRecord] = []
        self.warned_time = False
        self.replies_without_tool = 0

    def result(self, finished: bool, summary: str, steps: int, reason: StopReason, detail: str = "", budget=None):
        if reason != "finished":
            self.recorder.event("agent", f"attempt {self.task.attempt} stopped: {reason}: {detail}", stop_reason=reason)
        return AgentResult(finished, summary, steps, reason, detail, budget, self.usage)

    def compact_if_needed(self) -> None:
        share = self.limits.compact_at_share
        if share is None:
            return
        threshold = min(int(spec_of(self.model).context_window * share), self.limits.compact_at_tokens)
        if estimate_prompt_tokens(self.messages) > threshold:
            self.messages = self.compactor.compact(self.messages)

    def time_check(self) -> str | None:
        deadline = self.limits.deadline_epoch
        if deadline is None:
            return None
        left = deadline - time.time()
        if left <= 0:
            return "the job's wall-clock limit was reached"
        if left <= self.limits.wrap_up_s and not self.warned_time:
            self.warned_time = True
            self.messages.append(HumanMessage(content=prompts.WRAP_UP))
            self.recorder.event("agent", f"wrap-up warning: {left:.0f}s left before the job's time limit")
        return None

    def call_model(self, step: int) -> AIMessage:
        reply, record = metered_invoke(self.bound, self.model, self.messages, role="code", step=step,
                                       recorder=self.recorder, guard=self.guard, attempt=self.task.attempt)
        self.usage.append(record)
        return reply

    def execute(self, call: dict[str, Any], step: int) -> ToolMessage:
        name, args = call["name"], call.get("args") or {}
        tool = self.tools.get(name)
        if tool is None:
            msg = ToolMessage(content=f"unknown tool {name!r}; available: {', '.join(self.tools)}",
                              tool_call_id=call.get("id") or "", name=name, status="error")
        else:
            try:
                msg = tool.invoke({"type": "tool_call", "name": name, "args": args, "id": call.get("id") or ""})
            except SandboxError:
                raise  # the sandbox is gone: the attempt cannot go on
            except Exception as exc:  # a tool bug must not end the job; the model sees the cause
                msg = ToolMessage(content=f"tool {name} failed: {type(exc).__name__}: {exc}",
                                  tool_call_id=call.get("id") or "", name=name, status="error")
        ok = msg.status != "error"
        self.recorder.event("tool", f"{name} {_short_args(name, args)}".strip(), tool=name, step=step, ok=ok,
                            attempt=self.task.attempt)
        return msg

    def run(self) -> AgentResult:
        for step in range(1, self.limits.max_steps + 1):
            late = self.time_check()
            if late:
                return self.result(False, late, step - 1, "budget", late)
            self.compact_if_needed()
            try:
                reply = self.call_model(step)
            except BudgetExhausted as exc:
                return self.result(False, exc.reason, step - 1, "budget", exc.reason, exc)
            except ReplayStopped as exc:
                return self.result(False, str(exc), step - 1, exc.stop_reason, str(exc))  # type: ignore[arg-type]
            except Exception as exc:  # provider errors: the job shows the cause
                detail = f"model call failed: {type(exc).__name__}: {exc}"
                return self.result(False, detail, step - 1, "error", detail)
            try:
                outcome = self.handle_reply(reply, step)
            except SandboxError as exc:
                detail = f"sandbox failed: {exc}"
                return self.result(False, detail, step, "error", detail)
            if outcome is not None:
                return outcome
        detail = f"no finish after {self.limits.max_steps} steps"
        return self.result(False, detail, self.limits.max_steps, "max_steps", detail)

    def handle_reply(self, reply: AIMessage, step: int) -> AgentResult | None:
        self.messages.append(reply)
        if isinstance(reply.content, str) and reply.content.strip():
            self.recorder.event("agent", reply.content.strip()[:500], step=step)
        if not reply.tool_calls:
            self.replies_without_tool += 1
            if self.replies_without_tool >= self.limits.max_replies_without_tool:
                detail = f"{self.replies_without_tool} replies without a tool call"
                return self.result(False, detail, step, "stuck", detail)
            self.messages.append(HumanMessage(content=prompts.NUDGE_NO_TOOL))
            return None
        finish_summary: str | None = None
        verdicts = []
        for call in reply.tool_calls:
            msg = self.execute(call, step)
            self.messages.append(msg)
            if call["name"] == "finish" and msg.status != "error":
                finish_summary = str(call["args"].get("summary", ""))
            verdicts.append(self.loop_guard.observe(call["name"], call.get("args") or {}, str(msg.content)))
        if finish_summary is not None:
            return self.result(True, finish_summary, step, "finished")
        if "stuck" in verdicts:
            detail = "repeated the same tool call with the same result after being told to change approach"
            return self.result(False, detail, step, "stuck", detail)
        if "nudge" in verdicts:
            self.messages.append(HumanMessage(content=prompts.NUDGE_REPEATING))
            self.recorder.event("agent", "loop guard: same call and result three times; nudged the agent", step=step)
        return None


def run_coding_agent(
    model: BaseChatModel,
    sandbox: Sandbox,
    task: CodingTask,
    *,
    recorder: Any,
    limits: AgentLimits,
    guard: BudgetGuard | None = None,
    compactor: HistoryCompactor | None = None,
) -> AgentResult:
    """Run one coding attempt in ``sandbox``; never raises for model, tool or budget trouble."""
    return _AgentRun(model, sandbox, task, recorder, limits, guard, compactor).run()

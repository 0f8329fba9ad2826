"""The coding agent: a tool-calling loop that works in the sandbox until it calls ``finish``.

Model-agnostic: any LangChain chat model that supports ``bind_tools`` (real providers or
``ScriptedChatModel``). Every model call is priced and handed to ``recorder.usage``; every
tool call becomes a ``tool`` event on the job's timeline. Policies (budgets, the loop guard,
history compaction) live in their own modules; this file only sequences them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from agents import prompts
from agents.accounting import UsageRecord, estimate_prompt_tokens
from agents.budget import BudgetExhausted, BudgetGuard
from agents.catalogue import spec_of
from agents.context_window import HistoryCompactor
from agents.loopguard import LoopGuard
from agents.metered import Metering, metered_invoke
from agents.observers import CallRecorder
from agents.replies import inspect_reply, invalid_call_message, refusal_notice
from agents.repomap import fit_repo_map
from agents.resilience import ModelStopped, ProviderUnavailable, RetryPolicy, is_context_overflow
from agents.task import CodingTask, WorkspaceFacts
from agents.tools import ToolSettings, make_tools
from sandboxes.base import Sandbox, SandboxError

StopReason = Literal["finished", "max_steps", "stuck", "budget", "timeout", "cancelled", "provider", "error"]
"""``budget``: a spending limit (a human may extend it); ``timeout``: the attempt's wall-clock limit;
``provider``: the model's provider did not answer after retries; ``cancelled``: the job was cancelled.
A model that stops answering (``ModelStopped``) ends the attempt with a stop reason of its own."""

__all__ = ["AgentLimits", "AgentResult", "CodingTask", "WorkspaceFacts", "initial_messages", "run_coding_agent"]


@dataclass(frozen=True)
class AgentLimits:
    """Bounds of one coding attempt."""

    max_steps: int = 40
    """Model turns per attempt."""
    tool_output_chars: int = 8000
    """Characters of one tool output the model sees (head + tail); 0 = unlimited."""
    command_timeout_s: float = 300.0
    """Wall-clock limit of one ``bash``/``run_tests`` call."""
    compact_at_share: float | None = 0.65
    """Compact history when the prompt passes this share of the model's window; ``None`` = never."""
    compact_at_tokens: int | None = 10_000
    """...or when it passes this many tokens, whichever comes first (``None``: the share alone). Every
    prompt resends the whole history: past this size the tokens it holds cost more, even from the
    provider's prompt cache, than a summary and a rewritten (uncached) prompt (bench/tokens_bench.py)."""
    compact_regrowth_share: float = 0.25
    """Hysteresis: after a compaction, the prompt must grow by this share of the threshold before
    the next one, so the history (and the provider's cached prefix) is not rewritten every turn."""
    keep_recent_observations: int = 4
    """Tool results kept verbatim when compacting."""
    deadline_epoch: float | None = None
    """Wall-clock deadline of this attempt (``time.time()`` seconds); ``None`` = none."""
    wrap_up_s: float = 120.0
    """Seconds before the deadline at which the agent is told to finish."""
    repeat_limit: int = 3
    """Identical (call, result) pairs tolerated before a nudge, then a stop."""
    max_replies_without_tool: int = 3
    """Consecutive replies without a usable tool call (none, unparsable, cut, refused) before the
    attempt ends (stop reason ``stuck``, with the last problem as the cause)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """Retries of a transient provider failure (429, 5xx, timeout, reset) before the attempt stops."""
    steps_left_notice: int = 3
    """Tell the model when this many turns are left (0 = never)."""


@dataclass
class AgentResult:
    finished: bool
    """The agent called ``finish`` (says nothing about quality: the gates decide)."""
    summary: str
    """The agent's ``finish`` summary, or why it stopped."""
    steps: int
    stop_reason: StopReason | str
    """A ``StopReason``, or the ``stop_reason`` of the ``ModelStopped`` that ended the attempt."""
    detail: str = ""
    """Human-readable cause for any stop other than ``finished``."""
    budget: BudgetExhausted | None = None
    """Set when stop_reason is ``budget`` because a spending limit was hit."""
    usage: list[UsageRecord] = field(default_factory=list)
    provider: ProviderUnavailable | None = None
    """Set when stop_reason is ``provider``: who did not answer, and where."""
    model_stopped: ModelStopped | None = None
    """Set when the model stopped answering: its ``ends_job`` says whether the job can go on."""

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.usage)

    @property
    def input_tokens(self) -> int:
        return sum(r.input_tokens for r in self.usage)


EXCERPT_CHARS = 1500
"""Of a tool's output kept on the job's timeline: this much of its start and of its end."""


def output_excerpt(content: Any) -> str:
    """What the model saw from a tool, shortened for the timeline (the start and the end, the cut said)."""
    text = (
        content
        if isinstance(content, str)
        else "\n".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in (content or []))
    )
    if len(text) <= 2 * EXCERPT_CHARS:
        return text
    cut = len(text) - 2 * EXCERPT_CHARS
    return f"{text[:EXCERPT_CHARS]}\n… {cut} characters not shown …\n{text[-EXCERPT_CHARS:]}"


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
    system = prompts.code_system_prompt(task.instructions, fit_repo_map(task.repo_map, spec_of(model).context_window))
    if spec_of(model).provider == "anthropic":
        # Anthropic caches tools + system when the last system block is marked.
        content: Any = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
    else:
        content = system
    return [SystemMessage(content=content), HumanMessage(content=prompts.code_task_prompt(task))]


def observed_task(task: CodingTask, limits: AgentLimits, *, diff_tool: bool) -> CodingTask:
    """``task`` with the limits and tools of this run stated as they are."""
    left = None if limits.deadline_epoch is None else max(limits.deadline_epoch - time.time(), 0.0)
    facts = replace(task.workspace, max_steps=limits.max_steps, time_limit_s=left, diff_tool=diff_tool)
    return replace(task, workspace=facts)


class _AgentRun:
    def __init__(self, model, sandbox, task, recorder, limits, guard, compactor, diff_source, should_cancel):
        task = observed_task(task, limits, diff_tool=diff_source is not None)
        self.model, self.task, self.recorder, self.limits = model, task, recorder, limits
        self.metering = Metering(recorder, guard, limits.retry)
        settings = ToolSettings(
            test_command=task.test_command,
            select_test_command=task.select_test_command,
            test_env=task.test_env,
            output_chars=limits.tool_output_chars,
            command_timeout_s=limits.command_timeout_s,
        )
        self.tools = {t.name: t for t in make_tools(sandbox, settings, diff_source=diff_source)}
        self.bound = model.bind_tools(list(self.tools.values()))
        self.compactor = compactor or HistoryCompactor(recorder=recorder, keep_recent=limits.keep_recent_observations)
        self.should_cancel = should_cancel or (lambda: None)
        self.loop_guard = LoopGuard(limits.repeat_limit)
        self.messages = initial_messages(task, model)
        self.usage: list[UsageRecord] = []
        self.warned_time = False
        self.bad_replies = 0
        self.compacted_at: int | None = None

    def result(self, finished: bool, summary: str, steps: int, reason: StopReason | str, detail: str = "", **cause):
        """The attempt's result; ``cause`` is the exception behind a budget, provider or model stop."""
        if reason != "finished":
            self.recorder.event("agent", f"attempt {self.task.attempt} stopped: {reason}: {detail}", stop_reason=reason)
        return AgentResult(finished, summary, steps, reason, detail, usage=self.usage, **cause)

    def compact_if_needed(self) -> None:
        share = self.limits.compact_at_share
        if share is None:
            return
        window = spec_of(self.model).context_window
        threshold = int(window * share)
        if self.limits.compact_at_tokens:
            threshold = min(threshold, self.limits.compact_at_tokens)
        size = estimate_prompt_tokens(self.messages)
        if size <= threshold:
            return
        if self.compacted_at is not None and size - self.compacted_at < threshold * self.limits.compact_regrowth_share:
            return
        self.messages = self.compactor.compact(self.messages)
        self.compacted_at = estimate_prompt_tokens(self.messages)

    def call_within_window(self, step: int) -> AIMessage:
        """The model's reply; a prompt the provider refuses as longer than its window (the window
        in the catalogue is larger than the server's, or the 4-characters-a-token estimate
        undercounts) is compacted once and sent again."""
        try:
            return self.call_model(step)
        except Exception as exc:
            if not is_context_overflow(exc):
                raise
            before = estimate_prompt_tokens(self.messages)
            compacted = self.compactor.compact(self.messages)
            after = estimate_prompt_tokens(compacted)
            if after >= before:
                raise
            self.messages, self.compacted_at = compacted, after
            self.recorder.event(
                "compaction",
                f"the provider refused a prompt longer than its window (~{before} tokens); "
                f"history compacted to ~{after} and sent again",
                step=step,
            )
            return self.call_model(step)

    def before_turn(self, step: int) -> tuple[StopReason, str] | None:
        """Cancellation and the wall clock, checked before every model call."""
        cancelled = self.should_cancel()
        if cancelled:
            return "cancelled", cancelled
        deadline = self.limits.deadline_epoch
        if deadline is not None:
            left = deadline - time.time()
            if left <= 0:
                return "timeout", "the attempt's wall-clock limit was reached"
            if left <= self.limits.wrap_up_s and not self.warned_time:
                self.warned_time = True
                self.messages.append(HumanMessage(content=prompts.render("wrap_up")))
                self.recorder.event("agent", f"wrap-up warning: {left:.0f}s left before the attempt's time limit")
        left_steps = self.limits.max_steps - step + 1
        if left_steps == self.limits.steps_left_notice and step > 1:
            self.messages.append(HumanMessage(content=prompts.render("steps_left", left=left_steps)))
        return None

    def call_model(self, step: int) -> AIMessage:
        reply, record = metered_invoke(
            self.bound,
            self.model,
            self.messages,
            role="code",
            step=step,
            metering=self.metering,
            attempt=self.task.attempt,
        )
        self.usage.append(record)
        return reply

    def execute(self, call: dict[str, Any], step: int) -> ToolMessage:
        name, args = call["name"], call.get("args") or {}
        tool = self.tools.get(name)
        if tool is None:
            msg = ToolMessage(
                content=f"error: unknown tool {name!r}; available: {', '.join(self.tools)}",
                tool_call_id=call.get("id") or "",
                name=name,
                status="error",
            )
        else:
            try:
                msg = tool.invoke({"type": "tool_call", "name": name, "args": args, "id": call.get("id") or ""})
            except SandboxError:
                raise  # the sandbox is gone: the attempt cannot go on
            except Exception as exc:  # noqa: BLE001 — a tool bug must not end the job; the model sees the cause
                msg = ToolMessage(
                    content=f"tool {name} failed: {type(exc).__name__}: {exc}",
                    tool_call_id=call.get("id") or "",
                    name=name,
                    status="error",
                )
        ok = msg.status != "error"
        self.recorder.event(
            "tool",
            f"{name} {_short_args(name, args)}".strip(),
            tool=name,
            step=step,
            ok=ok,
            attempt=self.task.attempt,
            output=output_excerpt(msg.content),
        )
        return msg

    def run(self) -> AgentResult:
        for step in range(1, self.limits.max_steps + 1):
            stop = self.before_turn(step)
            if stop:
                return self.result(False, stop[1], step - 1, stop[0], stop[1])
            self.compact_if_needed()
            try:
                reply = self.call_within_window(step)
            except BudgetExhausted as exc:
                return self.result(False, exc.reason, step - 1, "budget", exc.reason, budget=exc)
            except ModelStopped as exc:
                return self.result(False, str(exc), step - 1, exc.stop_reason, str(exc), model_stopped=exc)
            except ProviderUnavailable as exc:
                return self.result(False, str(exc), step - 1, "provider", str(exc), provider=exc)
            except Exception as exc:  # noqa: BLE001 — a request the provider refuses (bad request, auth): the job shows the cause
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

    def answer_problems(self, reply: AIMessage, step: int) -> str:
        """Answer unparsable calls, cut replies and refusals; returns the problem ('' if none)."""
        issues = inspect_reply(reply)
        problem = ""
        for call in issues.invalid_calls:
            self.messages.append(invalid_call_message(call, list(self.tools)))
            problem = f"unparsable arguments for {call.get('name')}: {call.get('error') or 'invalid JSON'}"
        if issues.cut:
            self.messages.append(HumanMessage(content=prompts.render("reply_cut")))
            problem = "replies cut at the output-token limit"
        elif issues.refusal:
            self.messages.append(HumanMessage(content=refusal_notice(issues.refusal)))
            problem = f"the model refused: {issues.refusal[:200]}"
        if problem:
            self.recorder.event("agent", f"malformed reply: {problem}", step=step)
        return problem

    def handle_reply(self, reply: AIMessage, step: int) -> AgentResult | None:
        self.messages.append(reply)
        if isinstance(reply.content, str) and reply.content.strip():
            self.recorder.event("agent", reply.content.strip()[:500], step=step)
        outcome = self.run_calls(reply, step) if reply.tool_calls else None
        problem = self.answer_problems(reply, step)
        if reply.tool_calls and not problem:
            self.bad_replies = 0
            return outcome
        if outcome is not None:
            return outcome
        self.bad_replies += 1
        problem = problem or "replies without a tool call"
        if self.bad_replies >= self.limits.max_replies_without_tool:
            detail = f"{self.bad_replies} replies in a row without a usable tool call; last problem: {problem}"
            return self.result(False, detail, step, "stuck", detail)
        if not reply.tool_calls and not reply.invalid_tool_calls and not inspect_reply(reply).refusal:
            self.messages.append(HumanMessage(content=prompts.render("nudge_no_tool")))
            self.recorder.event("agent", "nudged: the reply called no tool; asked for one", step=step)
        return None

    def run_calls(self, reply: AIMessage, step: int) -> AgentResult | None:
        finish_summary: str | None = None
        verdicts = []
        for call in reply.tool_calls:
            cancelled = self.should_cancel()
            if cancelled:
                return self.result(False, cancelled, step, "cancelled", cancelled)
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
            times = self.limits.repeat_limit
            self.messages.append(HumanMessage(content=prompts.render("nudge_repeating", times=times)))
            self.recorder.event("agent", f"loop guard: same call and result {times} times; nudged the agent", step=step)
        return None


def run_coding_agent(
    model: BaseChatModel,
    sandbox: Sandbox,
    task: CodingTask,
    *,
    recorder: CallRecorder,
    limits: AgentLimits,
    guard: BudgetGuard | None = None,
    compactor: HistoryCompactor | None = None,
    diff_source: Callable[[], str] | None = None,
    should_cancel: Callable[[], str | None] | None = None,
) -> AgentResult:
    """Run one coding attempt in ``sandbox``. Trouble with the model, a tool, the sandbox or the
    budget ends the attempt with a stop reason; what ``should_cancel`` or the compactor's summarizer
    factory raises, and a model that cannot bind tools, propagates.

    ``diff_source`` returns the workspace's changes against the base commit (offered as the
    ``diff`` tool); ``should_cancel`` returns a reason once the job is cancelled and is asked
    before every model call and every tool call."""
    return _AgentRun(model, sandbox, task, recorder, limits, guard, compactor, diff_source, should_cancel).run()

"""``ScriptedChatModel``: a LangChain chat model that replays a cassette.

Used by the test suite and the demo, and always labelled as such: its name is
``scripted:<cassette>``, ``.scripted`` is ``True`` and its ledger entries say
``cost_basis="scripted"`` (or ``"recorded"`` when the cassette carries the usage and prices
of the run it was recorded from).

A replay is stateless across processes: code attempt N replays ``code[N-1]`` from its first
turn, so a workflow resumed elsewhere builds a fresh model for the attempt it is on.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, PrivateAttr

from agents.cassette import Cassette, Expectation, Turn, TurnUsage
from agents.catalogue import ModelSpec
from agents.resilience import ModelStopped


class CassetteExhausted(ModelStopped):
    """The cassette has no (more) turns for this role or attempt: the attempt's work goes to the gate."""

    stop_reason = "cassette_exhausted"


class CassetteDivergence(ModelStopped):
    """A tool's result no longer matches the recording: replaying on would be meaningless."""

    stop_reason = "divergence"
    ends_job = "the scripted replay no longer matches the repository"


def check_expectation(expect: Expectation, result: ToolMessage) -> str | None:
    """Why ``result`` does not match ``expect``, or ``None`` when it does."""
    text = result.content if isinstance(result.content, str) else str(result.content)
    artifact = result.artifact if isinstance(result.artifact, dict) else {}
    failed = result.status == "error"
    if expect.ok is not None and expect.ok == failed:
        expected, got = ("succeed", "failed") if expect.ok else ("fail", "succeeded")
        return f"expected the tool to {expected}, but it {got}: {text[:200]}"
    if expect.exit_code is not None and artifact.get("exit_code") != expect.exit_code:
        return f"expected exit code {expect.exit_code}, got {artifact.get('exit_code')}: {text[-300:]}"
    if expect.contains is not None and expect.contains not in text:
        return f"expected output to contain {expect.contains!r}; output was: {text[-300:]}"
    if expect.not_contains is not None and expect.not_contains in text:
        return f"expected output not to contain {expect.not_contains!r}"
    return None


def _usage_metadata(usage: TurnUsage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "input_token_details": {"cache_read": usage.cached_input_tokens},
    }


class CassetteChatModel(BaseChatModel):
    """A chat model behind a cassette: ``ScriptedChatModel`` replays one, ``RecordingChatModel``
    records one. ``bind_tools`` keeps the tools (and the tool choice) for ``answer``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any) -> Runnable:
        return self.bind(cassette_tools=list(tools), cassette_tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        tools = kwargs.pop("cassette_tools", None) or []
        message = self.answer(messages, tools, kwargs.pop("cassette_tool_choice", None), stop=stop, **kwargs)
        return ChatResult(generations=[ChatGeneration(message=message)])

    @abstractmethod
    def answer(
        self, messages: list[BaseMessage], tools: list[Any], tool_choice: str | None, **kwargs: Any
    ) -> AIMessage:
        """The reply to ``messages`` with ``tools`` bound (none: a plain call); each replay model
        (scripted, recorded) gives its own."""


class ScriptedChatModel(CassetteChatModel):
    """Replays the ``role`` section of a cassette (code attempt ``attempt``)."""

    cassette: Cassette
    role: str = "code"
    """``triage``, ``plan``, ``code`` or ``summarize``."""
    attempt: int = 1
    """Code attempt being replayed (1-based)."""
    scripted: bool = True
    """Always true: lets callers and the ledger label this model as a replay."""

    _cursor: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"cassette": self.cassette.name, "role": self.role, "attempt": self.attempt}

    @property
    def model_name(self) -> str:
        return f"scripted:{self.cassette.name}"

    @property
    def model_spec(self) -> ModelSpec:
        return self.cassette.replay_spec()

    @property
    def has_recorded_prices(self) -> bool:
        return self.cassette.recorded_with is not None

    def answer(
        self, messages: list[BaseMessage], tools: list[Any], tool_choice: str | None, **kwargs: Any
    ) -> AIMessage:
        """The cassette's next turn. The tools are taken as a real model takes them; the cassette
        decides which are called."""
        message = self._reply(messages, [convert_to_openai_tool(t)["function"]["name"] for t in tools])
        message.response_metadata.update(
            {"model_name": self.model_name, "scripted": True, "recorded_usage": message.usage_metadata is not None}
        )
        return message

    def _reply(self, messages: list[BaseMessage], tool_names: list[str]) -> AIMessage:
        c = self.cassette
        if self.role == "triage":
            if c.triage is None:
                raise CassetteExhausted(f"cassette {c.name}: no 'triage' section")
            name = tool_names[0] if tool_names else "TriageAnswer"
            return self._with_usage(
                AIMessage(content="", tool_calls=[{"name": name, "args": c.triage.model_dump(), "id": "call_triage"}]),
                c.triage_usage,
            )
        if self.role == "plan":
            if c.plan is None:
                raise CassetteExhausted(f"cassette {c.name}: no 'plan' section")
            return self._with_usage(AIMessage(content=c.plan), c.plan_usage)
        if self.role == "code":
            return self._next_code_turn(messages)
        raise CassetteExhausted(f"cassette {c.name}: no section for role {self.role!r}")

    def _next_code_turn(self, messages: list[BaseMessage]) -> AIMessage:
        turns = self.cassette.attempt_turns(self.attempt)
        where = f"cassette {self.cassette.name}: code attempt {self.attempt}"
        if turns is None:
            raise CassetteExhausted(f"{where}: not recorded (the cassette has {len(self.cassette.code)} attempt(s))")
        if self._cursor > 0:
            self._check_previous(turns[self._cursor - 1], messages, where)
        if self._cursor >= len(turns):
            raise CassetteExhausted(f"{where}: all {len(turns)} turns replayed and the agent did not finish")
        turn = turns[self._cursor]
        self._cursor += 1
        calls = []
        if turn.tool:
            calls.append({"name": turn.tool, "args": dict(turn.args), "id": self._call_id(self._cursor)})
        return self._with_usage(AIMessage(content=turn.say, tool_calls=calls), turn.usage)

    def _call_id(self, turn_number: int) -> str:
        return f"call_a{self.attempt}_t{turn_number}"

    def _check_previous(self, turn: Turn, messages: list[BaseMessage], where: str) -> None:
        if turn.expect is None:
            return
        call_id = self._call_id(self._cursor)
        result = next((m for m in reversed(messages) if isinstance(m, ToolMessage) and m.tool_call_id == call_id), None)
        if result is None:
            return  # observation compacted away; nothing left to compare
        problem = check_expectation(turn.expect, result)
        if problem:
            raise CassetteDivergence(f"{where}: turn {self._cursor} ({turn.tool}) diverged: {problem}")

    @staticmethod
    def _with_usage(message: AIMessage, usage: TurnUsage | None) -> AIMessage:
        if usage is not None:
            message.usage_metadata = _usage_metadata(usage)  # type: ignore[assignment]
        return message

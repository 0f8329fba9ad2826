"""Cassettes: recorded or hand-written model turns replayed by ``ScriptedChatModel``.

One YAML file per ticket, one section per role; the format is documented in
``agents/CASSETTES.md``. Loading validates everything up front and names the file, the key
and the reason on any problem, e.g. ``CassetteError("slug.yml: code[0][2].tool: unknown tool 'edt'")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agents.catalogue import ModelSpec

TOOL_NAMES = ("view", "search", "edit", "create", "bash", "run_tests", "finish")


class CassetteError(ValueError):
    """An unusable cassette; the message is ``file: key: reason``."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TurnUsage(_Strict):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cached_input_tokens: int = Field(default=0, ge=0)


class Expectation(_Strict):
    """What the real tool result must look like for the replay to still make sense."""

    exit_code: int | None = None
    """Exit status of ``bash`` / ``run_tests``."""
    contains: str | None = None
    """Text that must appear in the tool output."""
    not_contains: str | None = None
    """Text that must not appear in the tool output."""
    ok: bool | None = None
    """``true``: the tool must not report an error; ``false``: it must."""


class Turn(_Strict):
    """One model turn: some text and at most one tool call."""

    say: str = ""
    """The model's text for this turn."""
    tool: str | None = None
    """Tool to call (one of the agent tools)."""
    args: dict[str, Any] = Field(default_factory=dict)
    expect: Expectation | None = None
    """Checked against the tool's actual result before the next turn is replayed."""
    usage: TurnUsage | None = None
    """Recorded usage; without it tokens are estimated and priced at $0."""

    @model_validator(mode="after")
    def _known_tool(self) -> Turn:
        if self.tool is not None and self.tool not in TOOL_NAMES:
            raise ValueError(f"unknown tool {self.tool!r} (expected one of {', '.join(TOOL_NAMES)})")
        if self.tool is None and (self.args or self.expect):
            raise ValueError("'args'/'expect' given without 'tool'")
        return self


class TriageAnswer(_Strict):
    """The structured answer of the triage step."""

    eligible: bool
    """Whether the ticket is fit for an unattended agent."""
    complexity: Literal["low", "medium", "high"]
    kind: Literal["bug", "feature", "docs", "chore"]
    reason: str
    """One or two sentences a human can check."""
    question_for_author: str = ""
    """What to ask the ticket author when the ticket is unclear or ineligible."""


class RecordedWith(_Strict):
    """The catalogue entry the cassette was recorded with (its prices give the recorded cost)."""

    name: str
    provider: str = "openai_compatible"
    model_id: str = ""
    price_input: float = Field(default=0.0, ge=0)
    price_output: float = Field(default=0.0, ge=0)
    price_cached_input: float | None = Field(default=None, ge=0)
    context_window: int = Field(default=128_000, gt=0)


class Cassette(_Strict):
    name: str = ""
    """Shown as ``scripted:<name>``; defaults to the file stem."""
    recorded_with: RecordedWith | None = None
    triage: TriageAnswer | None = None
    triage_usage: TurnUsage | None = None
    plan: str | None = None
    plan_usage: TurnUsage | None = None
    code: list[list[Turn]] = Field(default_factory=list)
    """Attempt N of the code step replays ``code[N-1]``."""

    def attempt_turns(self, attempt: int) -> list[Turn] | None:
        """The turns of code attempt ``attempt`` (1-based), or ``None`` past the last attempt."""
        if 1 <= attempt <= len(self.code):
            return self.code[attempt - 1]
        return None

    def replay_spec(self) -> ModelSpec:
        """The spec a replay of this cassette is accounted under."""
        rec = self.recorded_with
        return ModelSpec(
            name=f"scripted:{self.name}",
            provider="scripted",
            model_id=rec.model_id or rec.name if rec else self.name,
            price_input=rec.price_input if rec else 0.0,
            price_output=rec.price_output if rec else 0.0,
            price_cached_input=rec.price_cached_input if rec else None,
            context_window=rec.context_window if rec else 128_000,
        )


def _location(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_known_tool()]",):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def parse_cassette(text: str, source: str) -> Cassette:
    """Parse cassette YAML; raises ``CassetteError`` naming ``source``, the key and the reason."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(unparseable)"
        raise CassetteError(f"{source}: {where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise CassetteError(f"{source}: (top level): must be a mapping of roles, got {type(data).__name__}")
    data.setdefault("name", Path(source).stem)
    try:
        return Cassette.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_location(e['loc'])}: "
            + ("unknown key" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise CassetteError(f"{source}: " + "; ".join(problems)) from None


def load_cassette(path: str | Path) -> Cassette:
    """Load and validate a cassette file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CassetteError(f"{path}: (file): cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CassetteError(f"{path}: (file): not UTF-8 text (byte {exc.start})") from None
    return parse_cassette(text, path.name)

"""Eval tasks in SWE-bench's JSONL schema, validated with errors that name the line and field."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class EvalError(ValueError):
    """Bad eval input: names the file, the line or field, and why."""


class EvalInstance(BaseModel):
    """One task: SWE-bench's fields (unknown ones, such as ``patch``, are kept but unused)."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    """A local path (relative to the JSONL file) or a forge URL git can clone."""
    base_commit: str
    problem_statement: str
    test_patch: str
    """Hidden tests: applied only after the agent is done, never shown to it."""
    FAIL_TO_PASS: list[str]
    PASS_TO_PASS: list[str] = []

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        # SWE-bench ships these as JSON-encoded strings.
        return json.loads(value) if isinstance(value, str) else value

    @property
    def title(self) -> str:
        return (
            self.problem_statement.strip().splitlines()[0][:200] if self.problem_statement.strip() else self.instance_id
        )

    @property
    def body(self) -> str:
        return "\n".join(self.problem_statement.strip().splitlines()[1:]).strip()


def load_instances(path: Path) -> list[EvalInstance]:
    if not path.is_file():
        raise EvalError(f"{path}: no such file")
    out: list[EvalInstance] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalError(f"{path}:{number}: not JSON: {exc.msg}") from None
        try:
            instance = EvalInstance.model_validate(raw)
        except (ValidationError, json.JSONDecodeError) as exc:
            where = ""
            if isinstance(exc, ValidationError) and exc.errors():
                err = exc.errors()[0]
                where = f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
            raise EvalError(f"{path}:{number}: {where or exc}") from None
        if not instance.FAIL_TO_PASS:
            raise EvalError(
                f"{path}:{number}: FAIL_TO_PASS: empty — a task needs at least one test that must come to pass"
            )
        out.append(instance)
    ids = [i.instance_id for i in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise EvalError(f"{path}: instance_id repeated: {', '.join(dupes)}")
    if not out:
        raise EvalError(f"{path}: no instances")
    return out


def repo_source(instance: EvalInstance, jsonl: Path) -> str:
    """Where to clone from: a URL as is, a path relative to the JSONL file."""
    if "://" in instance.repo or instance.repo.startswith("git@"):
        return instance.repo
    path = Path(instance.repo)
    return str(path if path.is_absolute() else (jsonl.parent / path).resolve())

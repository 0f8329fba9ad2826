"""Eval tasks in SWE-bench's JSONL schema, validated with errors that name the line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class EvalError(ValueError):
    """Bad eval input: names the file, the line or field, and why."""


class EvalInstance(BaseModel):
    """One task: SWE-bench's fields. The extra ones real datasets carry (``patch``, ``version``,
    ``environment_setup_commit``, ``hints_text``, ``created_at``…) are accepted and kept; the
    agent never sees ``patch`` or ``hints_text``."""

    model_config = ConfigDict(extra="allow")

    instance_id: str
    repo: str
    """A local path (relative to the JSONL file), a URL git can clone, or SWE-bench's ``owner/name``
    (a directory of that name beside the JSONL file, else the GitHub repository)."""
    base_commit: str
    problem_statement: str
    test_patch: str
    """Hidden tests: applied only after the agent is done, never shown to it."""
    FAIL_TO_PASS: list[str]
    PASS_TO_PASS: list[str] = []
    patch: str = ""
    """The reference solution (the gold patch); never shown to the agent."""
    hints_text: str = ""
    version: str | None = None
    environment_setup_commit: str | None = None
    created_at: str | None = None

    @field_validator("FAIL_TO_PASS", "PASS_TO_PASS", mode="before")
    @classmethod
    def _json_list(cls, value: object) -> object:
        # SWE-bench ships these as JSON-encoded strings.
        return json.loads(value) if isinstance(value, str) else value

    @field_validator("version", "created_at", mode="before")
    @classmethod
    def _as_text(cls, value: object) -> object:
        # Datasets written by hand or by pandas carry versions as numbers (0.12) and dates as numbers.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value

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
        problem = _repo_problem(instance, path)
        if problem:
            raise EvalError(f"{path}:{number}: repo: {problem}")
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


OWNER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")


def _is_url(repo: str) -> bool:
    return "://" in repo or repo.startswith("git@")


def repo_source(instance: EvalInstance, jsonl: Path) -> str:
    """Where to clone from: a URL as is, a path relative to the JSONL file, or for SWE-bench's
    ``owner/name`` with no such directory, the GitHub repository."""
    if _is_url(instance.repo):
        return instance.repo
    path = Path(instance.repo)
    local = path if path.is_absolute() else (jsonl.parent / path).resolve()
    if not local.exists() and OWNER_NAME.match(instance.repo):
        return f"https://github.com/{instance.repo}.git"
    return str(local)


def _repo_problem(instance: EvalInstance, jsonl: Path) -> str:
    """Why the instance's repository cannot be used, or empty (a URL is checked when cloned)."""
    source = repo_source(instance, jsonl)
    if _is_url(source):
        return ""
    if not Path(source).exists():
        return f"{instance.repo}: no such directory (relative paths are taken from {jsonl.parent})"
    if not Path(source).is_dir():
        return f"{instance.repo}: not a directory"
    return ""

"""Gate tests run real gates: real git repositories, real sandboxes, the sample suites' own runners."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandboxes.base import SandboxProvider, SandboxSpec
from sandboxes.local import LocalSandboxProvider
from tests.gates.samples import commit_change, file_at, git_repo, make_calc_repo, make_node_repo
from workflows.gates import GateReport, run_gates
from workflows.repo_config import RepoConfig, parse_repo_config


@dataclass
class GateHarness:
    """A sample repository at a base commit, and a way to gate candidate changes to it."""

    path: Path
    base: str
    provider: SandboxProvider
    cache_dir: Path
    events: list[tuple[str, str]] = field(default_factory=list)

    def config(self, **overrides: Any) -> RepoConfig:
        """The repository's ``.shipyard.yml`` at the base, with dotted-key overrides (``test__timeout_s=8``)."""
        data = parse_repo_config(file_at(self.path, self.base, ".shipyard.yml")).model_dump()
        for dotted, value in overrides.items():
            node = data
            *parents, leaf = dotted.split("__")
            for key in parents:
                node = node[key]
            node[leaf] = value
        return RepoConfig.model_validate(data)

    def gate(
        self,
        changes: dict,
        *,
        config: RepoConfig | None = None,
        kind: str = "feature",
        spec: SandboxSpec | None = None,
        provider: SandboxProvider | None = None,
    ) -> GateReport:
        candidate = commit_change(self.path, self.base, changes)
        self.events.clear()
        return run_gates(
            repo=git_repo(self.path),
            base_sha=self.base,
            candidate_sha=candidate,
            config=config or self.config(),
            ticket_kind=kind,
            sandboxes=provider or self.provider,
            spec=spec or SandboxSpec(),
            cache_dir=self.cache_dir,
            on_event=lambda k, m: self.events.append((k, m)),
        )


@pytest.fixture(scope="session")
def sandbox_provider(tmp_path_factory) -> LocalSandboxProvider:
    return LocalSandboxProvider(tmp_path_factory.mktemp("gate-sandboxes"))


def _harness(tmp_path_factory, provider, name: str, make: Callable[[Path], str]) -> GateHarness:
    root = tmp_path_factory.mktemp(name)
    return GateHarness(path=root / "repo", base=make(root / "repo"), provider=provider, cache_dir=root / "cache")


@pytest.fixture(scope="session")
def calc(tmp_path_factory, sandbox_provider) -> GateHarness:
    """The calc sample (all tests green on base); its baseline is cached across tests."""
    return _harness(tmp_path_factory, sandbox_provider, "calc", make_calc_repo)


@pytest.fixture(scope="session")
def calc_with_bug(tmp_path_factory, sandbox_provider) -> GateHarness:
    """The calc sample with a known bug: ``tests/test_clamp.py::test_clamp_above`` fails on base."""
    return _harness(tmp_path_factory, sandbox_provider, "calc-bug", lambda p: make_calc_repo(p, known_bug=True))


@pytest.fixture(scope="session")
def node_strings(tmp_path_factory, sandbox_provider) -> GateHarness:
    return _harness(tmp_path_factory, sandbox_provider, "node", make_node_repo)


def protected_violation(path: str, pattern: str) -> dict[str, str]:
    """How the gate report names ``path`` refused by the protected-path rule ``pattern``."""
    return {"path": path, "reason": f"protected path (matches {pattern!r})"}

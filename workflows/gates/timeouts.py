"""How long one test run in the gate may take: derived from the base commit's own run.

A flat limit lets a suite that hangs hold a sandbox for the whole of ``test.timeout_s``, once
per attempt. When the baseline's duration is known, a run on the candidate gets
``factor × baseline + margin``, kept between ``floor_s`` and ``test.timeout_s`` (the ceiling,
which the baseline itself runs under).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from workflows.repo_config import RepoConfig


@dataclass(frozen=True)
class TestTimeout:
    seconds: float
    basis: str
    """How ``seconds`` was chosen, for the gate report and the timeout reason."""

    def describe(self) -> str:
        return f"{self.seconds:.0f}s ({self.basis})"


def ceiling(config: RepoConfig) -> TestTimeout:
    return TestTimeout(config.test.timeout_s, "test.timeout_s")


def derived(config: RepoConfig, baseline_s: float | None) -> TestTimeout:
    """The limit for candidate runs given the baseline's duration (the ceiling when unknown)."""
    if baseline_s is None or baseline_s <= 0:
        top = ceiling(config)
        return TestTimeout(top.seconds, "test.timeout_s; the baseline's duration is not known yet")
    rule = config.gates.timeout
    raw = float(math.ceil(rule.factor * baseline_s + rule.margin_s))
    seconds = min(max(raw, rule.floor_s), config.test.timeout_s)
    basis = f"{rule.factor:g} × baseline {baseline_s:.1f}s + {rule.margin_s:g}s"
    if seconds == config.test.timeout_s and raw > seconds:
        basis += ", capped at test.timeout_s"
    elif seconds == rule.floor_s and raw < seconds:
        basis += f", raised to the floor {rule.floor_s:g}s"
    return TestTimeout(seconds, basis)

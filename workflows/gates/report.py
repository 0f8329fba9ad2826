"""The gate report: one structured result per check, stored with the attempt.

The PR body (``to_markdown``), the job page (``to_html``) and the agent's next attempt
(``summary_for_agent``) all render this same object, so what a reviewer reads is what the
orchestrator decided.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from workflows.gates import render

CHECK_TITLES = {
    "change": "Change is reviewable",
    "workspace": "Workspace is safe to test",
    "protected_paths": "Protected paths untouched",
    "test_identity": "Tests keep their identity",
    "dynamic_code": "No code hidden from coverage",
    "no_regressions": "No regressions",
    "tests_added": "Tests added or changed",
    "fail_to_pass": "New tests fail before, pass after",
    "diff_coverage": "Diff coverage",
    "total_coverage": "Total coverage",
}
"""Human titles of the built-in checks; extra gates are titled by their configured name."""


class GateCheck(BaseModel):
    name: str
    """Machine name: ``no_regressions``, ``fail_to_pass``, ``extra:lint`` …"""
    passed: bool
    reason: str
    """One line a human can act on."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Structured evidence: failing test ids with tracebacks, uncovered ranges, violations, output tails."""
    waived: bool = False
    """Not applied (ticket kind or configuration); counts as passed and says why in ``reason``."""

    @property
    def title(self) -> str:
        if self.name.startswith("extra:"):
            return self.name[len("extra:") :]
        return CHECK_TITLES.get(self.name, self.name)


class GateReport(BaseModel):
    passed: bool
    checks: list[GateCheck]
    diff_coverage: float | None = None
    """Percent of changed executable source lines covered; None when no such line changed."""
    total_coverage_base: float | None = None
    total_coverage_candidate: float | None = None
    flaky_tests: list[str] = Field(default_factory=list)
    """Tests that failed on the candidate and then passed on a rerun."""
    duration_s: float = 0.0
    base_sha: str = ""
    candidate_sha: str = ""
    test_timeout_s: float | None = None
    """The limit the candidate's suite ran under (derived from the baseline run when known)."""
    test_timeout_basis: str = ""
    """How that limit was chosen: ``3 × baseline 2.1s + 60s``, or ``test.timeout_s``."""
    base_error: str | None = None
    """Why the base commit's suite could not be measured, when it could not: no attempt can pass
    the gate until the test command works on the base, so the job stops at once."""

    def failed_reasons(self) -> list[str]:
        """``"<title>: <reason>"`` for every failing check, in check order."""
        return [f"{c.title}: {c.reason}" for c in self.checks if not c.passed]

    def check(self, name: str) -> GateCheck | None:
        return next((c for c in self.checks if c.name == name), None)

    def to_markdown(self) -> str:
        """The PR-body section: a table of checks, coverage figures, flaky tests, uncovered lines."""
        return render.markdown(self)

    def to_html(self) -> str:
        """A self-contained, escaped HTML fragment (inline styles only) for the job page."""
        return render.html(self)

    def summary_for_agent(self, max_chars: int = 4000) -> str:
        """What the next attempt must fix: failing tests with trimmed tracebacks, uncovered
        line ranges per file, protected paths touched, failing command output; at most ``max_chars``."""
        return render.agent_summary(self, max_chars)

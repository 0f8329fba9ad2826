"""The orchestrator's quality gates (README section "Quality gates"), run on a candidate commit.

``run_gates`` returns a ``GateReport``; the PR body, the job page and the agent's next
attempt all render that one report.
"""

from workflows.gates.report import GateCheck, GateReport
from workflows.gates.runner import run_gates

__all__ = ["GateCheck", "GateReport", "run_gates"]

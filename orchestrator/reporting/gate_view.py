"""A stored gate report (JSON) as rows the job page and ``shipyard jobs show`` can show.

Reads the ``GateReport`` schema (``workflows.gates.report``) but tolerates anything: a
report from an older or newer version, or a damaged one, still renders what it holds.
"""

from __future__ import annotations

import json
from typing import Any

from workflows.gates.report import CHECK_TITLES

KNOWN_KEYS = {
    "passed", "checks", "diff_coverage", "total_coverage_base", "total_coverage_candidate",
    "flaky_tests", "duration_s", "base_sha", "candidate_sha", "base_error",
}  # fmt: skip
MAX_DETAIL_CHARS = 20_000


def _pct(value: Any) -> str:
    return f"{value:.1f}%" if isinstance(value, (int, float)) and not isinstance(value, bool) else "n/a"


def _dump(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > MAX_DETAIL_CHARS:
        text = text[:MAX_DETAIL_CHARS] + f"\n… {len(text) - MAX_DETAIL_CHARS} more characters"
    return text


def _title(name: str) -> str:
    if name.startswith("extra:"):
        return name[len("extra:") :]
    return CHECK_TITLES.get(name, name)


def _check_row(check: Any) -> dict:
    if not isinstance(check, dict):
        return {"title": "(unreadable check)", "status": "unknown", "reason": _dump(check), "details": None}
    name = str(check.get("name", "?"))
    if check.get("waived"):
        status = "waived"
    elif isinstance(check.get("passed"), bool):
        status = "pass" if check["passed"] else "fail"
    else:
        status = "unknown"
    details = check.get("details")
    return {
        "title": _title(name),
        "status": status,
        "reason": str(check.get("reason", "")),
        "details": _dump(details) if details else None,
    }


def _figures(report: dict) -> list[tuple[str, str]]:
    figures = [("Diff coverage", _pct(report.get("diff_coverage")))]
    if "total_coverage_base" in report or "total_coverage_candidate" in report:
        figures.append(
            (
                "Total coverage",
                f"{_pct(report.get('total_coverage_base'))} → {_pct(report.get('total_coverage_candidate'))}",
            )
        )
    if isinstance(report.get("duration_s"), (int, float)):
        figures.append(("Duration", f"{report['duration_s']:.1f}s"))
    for key, label in (("candidate_sha", "Candidate"), ("base_sha", "Base")):
        if report.get(key):
            figures.append((label, str(report[key])[:12]))
    return figures


def _uncovered(checks: list) -> dict[str, str]:
    for check in checks:
        if isinstance(check, dict) and check.get("name") == "diff_coverage":
            uncovered = (
                (check.get("details") or {}).get("uncovered") if isinstance(check.get("details"), dict) else None
            )
            if isinstance(uncovered, dict):
                return {str(path): ", ".join(map(str, ranges)) if isinstance(ranges, list) else str(ranges)
                        for path, ranges in uncovered.items()}  # fmt: skip
    return {}


def gate_view(report: Any) -> dict | None:
    """``None`` when the attempt was not gated; else verdict, figures, check rows and leftovers."""
    if report is None:
        return None
    if not isinstance(report, dict):
        return {"verdict": "unknown", "figures": [], "checks": [], "flaky": [], "uncovered": {},
                "extra": [("report", _dump(report))]}  # fmt: skip
    passed = report.get("passed")
    checks = report.get("checks") if isinstance(report.get("checks"), list) else []
    flaky = report.get("flaky_tests") if isinstance(report.get("flaky_tests"), list) else []
    return {
        "verdict": "passed" if passed is True else "failed" if passed is False else "unknown",
        "figures": _figures(report),
        "checks": [_check_row(c) for c in checks],
        "flaky": [str(t) for t in flaky],
        "uncovered": _uncovered(checks),
        "extra": [(str(k), _dump(v)) for k, v in report.items() if k not in KNOWN_KEYS],
    }

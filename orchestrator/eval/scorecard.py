"""Eval figures per configuration, as JSON-ready data and as Markdown, side by side.

- resolved rate: tasks whose result passes the hidden FAIL_TO_PASS + PASS_TO_PASS tests;
- gate precision: of the PRs the gate let open, the share that the hidden tests confirm;
- gate recall: of the results the hidden tests confirm, the share the gate let open
  (a blocked change that would have passed lowers it);
- cost per resolved task, tokens, wall time and the attempts' stop reasons."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from typing import Any


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def summarize(name: str, results: list[Any], run_wall_s: float | None = None) -> dict:
    n = len(results)
    resolved = [r for r in results if r.resolved]
    prs = [r for r in results if r.pr_opened]
    true_prs = [r for r in prs if r.resolved]
    cost = sum(r.cost_usd for r in results)
    return {
        "configuration": name,
        "instances": n,
        "resolved": len(resolved),
        "resolved_rate": _ratio(len(resolved), n),
        "prs_opened": len(prs),
        "prs_failing_hidden_tests": len(prs) - len(true_prs),
        "gate_precision": _ratio(len(true_prs), len(prs)),
        "blocked_but_would_pass": len(resolved) - len(true_prs),
        "gate_recall": _ratio(len(true_prs), len(resolved)),
        "cost_usd": round(cost, 6),
        "cost_per_resolved_usd": round(cost / len(resolved), 6) if resolved else None,
        "input_tokens": sum(r.input_tokens for r in results),
        "output_tokens": sum(r.output_tokens for r in results),
        "wall_s": round(sum(r.wall_s for r in results), 1),
        "run_wall_s": round(run_wall_s, 1) if run_wall_s is not None else None,
        "stop_reasons": dict(Counter(s for r in results for s in r.stop_reasons if s)),
        "results": [asdict(r) for r in results],
    }


def cell(text: object) -> str:
    """One Markdown table cell: pipes escaped, line breaks as ``<br>``, so no value can break its row."""
    flat = "<br>".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
    return flat.replace("\\", "\\\\").replace("|", "\\|") or "–"


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return cell(", ".join(f"{k} {v}" for k, v in sorted(value.items())))
    return cell(value)


ROWS = [
    ("resolved", "resolved"),
    ("resolved_rate", "resolved rate"),
    ("prs_opened", "PRs opened"),
    ("prs_failing_hidden_tests", "PRs failing hidden tests"),
    ("gate_precision", "gate precision"),
    ("blocked_but_would_pass", "blocked but would pass"),
    ("gate_recall", "gate recall"),
    ("cost_usd", "cost (USD)"),
    ("cost_per_resolved_usd", "cost per resolved (USD)"),
    ("input_tokens", "input tokens"),
    ("output_tokens", "output tokens"),
    ("wall_s", "job time, summed (s)"),
    ("run_wall_s", "run wall time (s)"),
    ("stop_reasons", "attempt outcomes"),
]


def to_markdown(reports: list[dict]) -> str:
    """One column per configuration, then each configuration's per-task table."""
    head = "| figure | " + " | ".join(cell(r["configuration"]) for r in reports) + " |"
    lines = ["# shipyard eval", "", head, "|---|" + "---|" * len(reports)]
    lines.append("| instances | " + " | ".join(str(r["instances"]) for r in reports) + " |")
    for key, label in ROWS:
        lines.append(f"| {label} | " + " | ".join(_fmt(r.get(key)) for r in reports) + " |")
    for r in reports:
        lines += [
            "",
            f"## {' '.join(str(r['configuration']).split())}",
            "",
            "| instance | job | state | PR | resolved | tokens in / out | wall (s) | failing hidden tests | log |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for x in r["results"]:
            failing = ", ".join(x["failing_tests"])
            failing = failing if len(failing) <= 300 else failing[:299] + "…"
            lines.append(
                f"| {cell(x['instance_id'])} | {x['job_id']} | {cell(x['state'])} | "
                f"{'yes' if x['pr_opened'] else 'no'} | "
                f"{'yes' if x['resolved'] else 'no'} | {x.get('input_tokens', 0)} / {x.get('output_tokens', 0)} | "
                f"{x.get('wall_s', 0):.1f} | {cell(failing)} | {cell(x.get('log') or '–')} |"
            )
    return "\n".join(lines) + "\n"

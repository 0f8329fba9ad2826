"""Renderings of a ``GateReport``: Markdown for the PR, HTML for the job page, text for the agent.

Check details use a few shared keys, read here:
``failing_tests`` ([{id, message, detail}]), ``passing_on_base`` ([id]), ``flaky`` ([id]),
``uncovered`` ({path: ["3-5", "9"]}), ``violations`` ([{path, reason}]), ``output_tail`` (str).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workflows.gates.report import GateCheck, GateReport


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _mark(check: GateCheck) -> str:
    if check.waived:
        return "➖ waived"
    return "✅ pass" if check.passed else "❌ fail"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _coverage_line(report: GateReport) -> str:
    return (
        f"Diff coverage: {_pct(report.diff_coverage)} · "
        f"total coverage: {_pct(report.total_coverage_base)} → {_pct(report.total_coverage_candidate)}"
    )


def _limit_line(report: GateReport) -> str:
    return f"Test run limit: {report.test_timeout_s:.0f}s ({report.test_timeout_basis})."


def _uncovered(report: GateReport) -> dict[str, list[str]]:
    check = report.check("diff_coverage")
    return dict(check.details.get("uncovered", {})) if check else {}


def markdown(report: GateReport) -> str:
    verdict = "✅ passed" if report.passed else "❌ failed"
    lines = [
        f"### Quality gates: {verdict}",
        "",
        f"Verified by the orchestrator on `{report.candidate_sha[:12]}` against base `{report.base_sha[:12]}` "
        f"in {report.duration_s:.1f}s.",
        "",
        "| Check | Result | Detail |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {_md_cell(c.title)} | {_mark(c)} | {_md_cell(c.reason)} |" for c in report.checks]
    lines += ["", _coverage_line(report)]
    if report.test_timeout_s is not None:
        lines += ["", _limit_line(report)]
    if report.flaky_tests:
        flaky = ", ".join(f"`{t}`" for t in report.flaky_tests)
        lines += ["", f"⚠️ **Flaky tests** (failed, then passed on a rerun): {flaky}"]
    uncovered = _uncovered(report)
    if uncovered:
        lines += ["", "<details><summary>Uncovered changed lines</summary>", ""]
        lines += [f"- `{path}`: lines {', '.join(ranges)}" for path, ranges in uncovered.items()]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _word(check: GateCheck) -> str:
    # Plain words, not emoji: the job page must read the same without an emoji font.
    return "waived" if check.waived else ("pass" if check.passed else "fail")


def _html_evidence(check: GateCheck) -> str:
    """Failing tests with their tracebacks, violations and output tails, folded."""
    lines = _check_lines(check)[1:]
    if not lines:
        return ""
    body = escape("\n".join(lines))
    return (
        f'<details style="margin:4px 0"><summary>{escape(check.title)}: evidence</summary>'
        f'<pre style="white-space:pre-wrap;background:#f6f8fa;padding:6px;margin:4px 0">{body}</pre></details>'
    )


_CELL = "padding:4px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"


def html(report: GateReport) -> str:
    colour = "#1a7f37" if report.passed else "#cf222e"
    verdict = "passed" if report.passed else "failed"
    rows = []
    for c in report.checks:
        tone = "#57606a" if c.waived else ("#1a7f37" if c.passed else "#cf222e")
        rows.append(
            f'<tr><td style="{_CELL}">{escape(c.title)}</td>'
            f'<td style="{_CELL};color:{tone};font-weight:600">{_word(c)}</td>'
            f'<td style="{_CELL}">{escape(c.reason)}</td></tr>'
        )
    parts = [
        '<section class="gate-report" style="font-family:sans-serif;font-size:14px">',
        f'<h3 style="margin:0 0 6px;color:{colour}">Quality gates: {verdict}</h3>',
        f'<p style="margin:0 0 6px;color:#57606a">candidate <code>{escape(report.candidate_sha[:12])}</code> '
        f"vs base <code>{escape(report.base_sha[:12])}</code>, {report.duration_s:.1f}s</p>",
        f'<table style="border-collapse:collapse">'
        f'<tr><th style="{_CELL}">Check</th><th style="{_CELL}">Result</th><th style="{_CELL}">Detail</th></tr>'
        f"{''.join(rows)}</table>",
        f'<p style="margin:6px 0">{escape(_coverage_line(report))}</p>',
        f'<p style="margin:6px 0">{escape(_limit_line(report))}</p>' if report.test_timeout_s is not None else "",
    ]
    if report.flaky_tests:
        flaky = ", ".join(f"<code>{escape(t)}</code>" for t in report.flaky_tests)
        parts.append(f'<p style="margin:6px 0;color:#9a6700">Flaky tests (passed on a rerun): {flaky}</p>')
    parts += [e for e in (_html_evidence(c) for c in report.checks if not c.passed) if e]
    uncovered = _uncovered(report)
    if uncovered:
        items = "".join(
            f"<li><code>{escape(p)}</code>: lines {escape(', '.join(r))}</li>" for p, r in uncovered.items()
        )
        parts.append(f"<details><summary>Uncovered changed lines</summary><ul>{items}</ul></details>")
    parts.append("</section>")
    return "\n".join(parts)


def _check_lines(check: GateCheck) -> list[str]:
    d: dict[str, Any] = check.details
    out: list[str] = []
    for v in d.get("violations", [])[:20]:
        out.append(f"- {v['path']}: {v['reason']}")
    for t in d.get("failing_tests", [])[:10]:
        out.append(f"- FAILED {t['id']}: {t.get('message', '')}")
        if t.get("detail"):
            out.append("  " + "\n  ".join(t["detail"][-700:].splitlines()))
    if d.get("passing_on_base"):
        out.append("- these new/changed tests already pass on the base code: " + ", ".join(d["passing_on_base"][:15]))
    for path, ranges in list(d.get("uncovered", {}).items())[:20]:
        out.append(f"- {path}: uncovered lines {', '.join(ranges[:30])}")
    if d.get("output_tail"):
        out.append("  output (tail):\n  " + "\n  ".join(d["output_tail"][-1200:].splitlines()))
    return [f"## {check.title}", *out] if out else []


def agent_summary(report: GateReport, max_chars: int) -> str:
    if report.passed:
        text = "All quality gates passed."
        if report.flaky_tests:
            text += " Flaky tests: " + ", ".join(report.flaky_tests)
        return text[:max_chars]
    failing = [c for c in report.checks if not c.passed]
    lines = ["The orchestrator's quality gates failed. Fix these and finish again:"]
    lines += [f"- {c.title}: {c.reason}" for c in failing]
    for check in failing:
        lines += _check_lines(check)
    text = "\n".join(lines)
    if len(text) > max_chars:
        marker = "\n[… summary truncated]"
        text = text[: max(0, max_chars - len(marker))] + marker
    return text

"""What the command line prints: tables and a job's page, readable in a terminal and in a pipe."""

from __future__ import annotations

import os

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.reporting.gate_view import gate_view
from orchestrator.reporting.job_views import age, latest_plan

PIPE_WIDTH = 200
"""Columns of output that goes to a pipe or file (rich would wrap at 80 and cut commands in two)."""


def make_console(stderr: bool = False) -> Console:
    console = Console(stderr=stderr, soft_wrap=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPE_WIDTH
    return console


def jobs_table(rows: list[dict]) -> Table:
    table = Table("job", "state", "priority", "ticket", "repo", "attempts", "cost $", "age", "PR", "reason")
    for r in rows:
        pr = f"#{r['pr']['number']} {r['pr']['state']}" if r["pr"] else ""
        title = escape(r["title"]) + (" [dim](scripted)[/dim]" if r["scripted"] else "")
        state = r["state"] + (f" ({r['pending_decision']['text']})" if r.get("pending_decision") else "")
        table.add_row(
            str(r["id"]),
            state,
            r.get("priority", "normal"),
            title,
            escape(r["repo"]),
            str(r["attempts"]),
            f"{r['cost_usd']:.4f}",
            age(r["age_s"]),
            pr,
            escape(r["reason"] or ""),
        )
    return table


def workers_table(rows: list[dict]) -> Table:
    table = Table("worker", "status", "concurrency", "jobs in hand", "last heartbeat", "version", "recovered from it")
    for w in rows:
        status = {"alive": "[green]alive[/green]", "dead": "[red]dead[/red]", "wedged": "[red]wedged[/red]"}.get(
            w["status"], w["status"]
        )
        if w.get("stop_reason"):
            status += f": {escape(w['stop_reason'])}"
        table.add_row(f"{escape(w['host'])} pid {w['pid']}", status, str(w["concurrency"]),
                      " ".join(f"#{j}" for j in w["jobs_in_hand"]) or "idle", f"{age(w['last_seen_s'])} ago",
                      escape(w["version"]), " ".join(f"#{j}" for j in w["recovered_jobs"]))  # fmt: skip
    return table


def _gate_table(report: dict) -> Table:
    table = Table("check", "result", "reason", title=f"gate {report['verdict']}", title_justify="left")
    colour = {"pass": "green", "fail": "red"}
    for c in report["checks"]:
        result = f"[{colour[c['status']]}]{c['status']}[/]" if c["status"] in colour else c["status"]
        table.add_row(escape(c["title"]), result, escape(c["reason"]))
    return table


def print_job(console: Console, detail: dict, diff: bool) -> None:
    """A job as the job page shows it: state and reason, the whole plan, the timeline, each
    attempt's gate table, cost, the pull request and (on request) the diff."""
    console.print(f"[bold]job {detail['id']}[/bold] — {escape(detail['title'])} ({escape(detail['repo'])})")
    console.print(
        f"state: [bold]{detail['state']}[/bold]" + (f" — {escape(detail['reason'])}" if detail["reason"] else "")
    )
    if detail["scripted"]:
        console.print("[yellow]model: scripted replay (cassette), not a live model[/yellow]")
    plan = latest_plan(detail)
    if plan:
        console.print("[bold]plan[/bold]")
        console.print(plan, markup=False, highlight=False)
    console.print("[bold]timeline[/bold]")
    for e in detail["events"]:
        console.print(f"  {e['at'][11:19]} [cyan]{e['kind']:>12}[/cyan] {escape(e['message'][:300])}", highlight=False)
    for a in detail["attempt_list"]:
        report = gate_view(a["gate"])
        console.print(
            f"attempt {a['number']}: {escape(a['model'])} — {a['outcome']}" + ("" if report else " (not gated)")
        )
        if report:
            console.print(_gate_table(report))
            for label, value in report["figures"]:
                console.print(f"  {label}: {value}")
    for c in detail["cost_by_model"]:
        console.print(f"cost {escape(c['model'])}: {c['calls']} calls, ${c['cost_usd']:.4f}")
    if detail["pr"]:
        console.print(f"pull request #{detail['pr']['number']} ({detail['pr']['state']}): {detail['pr']['url']}")
    if diff and detail["diff"]:
        console.print(detail["diff"], markup=False, highlight=False)

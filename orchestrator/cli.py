"""The ``shipyard`` command line: thin commands that call into the domain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator import views
from orchestrator.backlog import BacklogError, add_ticket, list_tickets, wants_agent
from orchestrator.context import Shipyard
from orchestrator.forges.local import ForgeError
from orchestrator.jobs import JobError

app = typer.Typer(help="Shipyard: labelled tickets become gated pull requests.", no_args_is_help=True)
ticket_app = typer.Typer(help="The local backlog.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: one per attempt to resolve a ticket.", no_args_is_help=True)
review_app = typer.Typer(help="Human gates: plans, budgets, pull requests.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
app.add_typer(jobs_app, name="jobs")
app.add_typer(review_app, name="review")
console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def _ship() -> Shipyard:
    return Shipyard.load()


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)


@app.command()
def init(
    location: str = typer.Argument(..., help="A local git repository (path) or a git URL"),
    name: Optional[str] = typer.Option(None, help="Short name for tickets and commands (default: the directory name)"),
    base_branch: Optional[str] = typer.Option(None, help="Branch pull requests target (default: the repository's HEAD)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Keep the proposed configuration without asking"),
    store_only: bool = typer.Option(False, "--store-only", help="Keep the configuration in Shipyard's store only; "
                                    "write no .shipyard.yml into the repository's work tree"),
) -> None:
    """Register a repository and propose its .shipyard.yml from what it holds (kept on confirmation)."""
    from orchestrator.onboarding.cli_flow import onboard

    if location.startswith("github:"):
        from orchestrator.intake.github_repository import register_github_repository

        try:
            return console.print(register_github_repository(_ship().store, location, name=name, base_branch=base_branch))
        except ForgeError as exc:
            _fail(str(exc))
    try:
        onboard(_ship().store, location, name=name, base_branch=base_branch, yes=yes, store_only=store_only,
                console=console, interactive=console.is_terminal)
    except (ForgeError, BacklogError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def doctor(
    repo: str = typer.Argument(..., help="Repository name (see `shipyard init`)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Prove a repository's configuration in a real sandbox: setup, the suite twice, coverage; stores the baseline."""
    from orchestrator.onboarding.doctor import DoctorError, run_doctor
    from orchestrator.onboarding.cli_flow import print_doctor_report

    ship = _ship()
    try:
        report = run_doctor(ship.settings, ship.store, repo, progress=lambda m: err_console.print(f"[dim]{escape(m)}…[/dim]"))
    except DoctorError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_doctor_report(console, report)
    raise typer.Exit(0 if report.ok else 1)


@ticket_app.command("add")
def ticket_add(
    repo: str = typer.Option(..., help="Repository name (see `shipyard init`)"),
    title: str = typer.Option(..., help="One line: what should change"),
    body: str = typer.Option("", help="The details"),
    label: list[str] = typer.Option([], "--label", "-l", help="Labels; `shipyard` hands the ticket to the agent"),
    cassette: Optional[Path] = typer.Option(None, help="Replay this scripted-model cassette instead of a live model"),
) -> None:
    """Add a ticket to the local backlog; labelled `shipyard`, it is queued at once."""
    ship = _ship()
    try:
        ticket = add_ticket(ship.store, repo=repo, title=title, body=body, labels=label, cassette=cassette)
    except BacklogError as exc:
        _fail(str(exc))
    console.print(f"ticket {ticket.id} added" + (" (scripted model)" if ticket.cassette else ""))
    if wants_agent(ticket.labels):
        job_id, _ = ship.enqueue_ticket(ticket.id)
        console.print(f"queued as job {job_id}")


@ticket_app.command("list")
def ticket_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the backlog."""
    rows = list_tickets(_ship().store)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("id", "repo", "title", "labels", "last job", "state")
    for r in rows:
        table.add_row(str(r["id"]), r["repo"], r["title"], ",".join(r["labels"]), str(r["last_job"] or ""), r["last_state"] or "")
    console.print(table)


@ticket_app.command("queue")
def ticket_queue(ticket_id: int) -> None:
    """Queue a job for a ticket (no-op when one is already active)."""
    try:
        job_id, created = _ship().enqueue_ticket(ticket_id)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"{'queued' if created else 'already active:'} job {job_id}")


def _jobs_table(rows: list[dict]) -> Table:
    table = Table("job", "state", "ticket", "repo", "attempts", "cost $", "age", "PR", "reason")
    for r in rows:
        pr = f"#{r['pr']['number']} {r['pr']['state']}" if r["pr"] else ""
        title = r["title"] + (" [dim](scripted)[/dim]" if r["scripted"] else "")
        state = r["state"] + (f" ({r['pending_decision']['text']})" if r.get("pending_decision") else "")
        table.add_row(str(r["id"]), state, title, r["repo"], str(r["attempts"]), f"{r['cost_usd']:.4f}",
                      f"{r['age_s']:.0f}s", pr, (r["reason"] or "")[:80])  # fmt: skip
    return table


@jobs_app.command("list")
def jobs_list(
    state: Optional[str] = None,
    as_json: bool = typer.Option(False, "--json"),
    limit: int = typer.Option(50, help="Jobs per page (1-1000)"),
    before: Optional[int] = typer.Option(None, help="Only jobs with an id below this (the next page's cursor)"),
) -> None:
    """List jobs, newest first, a page at a time."""
    try:
        rows = views.list_jobs(_ship().store, state=state, limit=limit, before=before)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--limit") from None
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(_jobs_table(rows))
    if len(rows) == limit:
        console.print(f"more: shipyard jobs list --limit {limit} --before {rows[-1]['id']}")


@jobs_app.command("show")
def jobs_show(job_id: int, as_json: bool = typer.Option(False, "--json"), diff: bool = typer.Option(False, help="Print the diff")) -> None:
    """A job's state, reason, timeline, gate results and cost."""
    ship = _ship()
    detail = views.job_detail(ship.store, ship.settings.jobs_dir, job_id)
    if detail is None:
        _fail(f"job {job_id} does not exist")
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    console.print(f"[bold]job {job_id}[/bold] — {detail['title']} ({detail['repo']})")
    console.print(f"state: [bold]{detail['state']}[/bold]" + (f" — {detail['reason']}" if detail["reason"] else ""))
    if detail["scripted"]:
        console.print("[yellow]model: scripted replay (cassette), not a live model[/yellow]")
    for e in detail["events"]:
        console.print(f"  {e['at'][11:19]} [cyan]{e['kind']:>12}[/cyan] {escape(e['message'][:300])}", highlight=False)
    for a in detail["attempt_list"]:
        gate = a["gate"]
        verdict = "" if gate is None else ("gate passed" if gate.get("passed") else "gate failed")
        console.print(f"attempt {a['number']}: {a['model']} — {a['outcome']} {verdict}")
    for c in detail["cost_by_model"]:
        console.print(f"cost {c['model']}: {c['calls']} calls, ${c['cost_usd']:.4f}")
    if detail["pr"]:
        console.print(f"pull request #{detail['pr']['number']} ({detail['pr']['state']}): {detail['pr']['url']}")
    if diff and detail["diff"]:
        console.print(detail["diff"], markup=False, highlight=False)


@jobs_app.command("cancel")
def jobs_cancel(job_id: int) -> None:
    """Cancel a job; a running one stops at its next step."""
    try:
        _ship().cancel(job_id)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"job {job_id} cancelled")


@jobs_app.command("retry")
def jobs_retry(job_id: int) -> None:
    """Start a new job for the ticket of a finished job."""
    try:
        new_id = _ship().retry(job_id)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"queued job {new_id}")


@review_app.command("list")
def review_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Jobs waiting for a human decision."""
    rows = views.review_inbox(_ship().store)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(_jobs_table(rows))


def _decide(job_id: int, decision: str, comment: str, extra_usd: float = 0.0) -> None:
    try:
        gate = _ship().decide(job_id, decision, comment=comment, extra_usd=extra_usd)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"job {job_id}: {gate} {decision.replace('_', ' ')} recorded; the job resumes on a worker")


@review_app.command("approve")
def review_approve(job_id: int, comment: str = "", extra_usd: float = typer.Option(0.0, help="Budget gate: extra USD granted")) -> None:
    """Approve the plan, the budget extension or the pull request (which merges it)."""
    _decide(job_id, "approve", comment, extra_usd)


@review_app.command("reject")
def review_reject(job_id: int, comment: str = "") -> None:
    """Reject: the pull request is closed (or the plan / budget refused) and the job ends."""
    _decide(job_id, "reject", comment)


@review_app.command("request-changes")
def review_request_changes(job_id: int, comment: str = typer.Option(..., help="What the agent must change")) -> None:
    """Send the comments back to the agent as a new attempt on the same branch."""
    _decide(job_id, "request_changes", comment)


@app.command()
def outcomes(as_json: bool = typer.Option(False, "--json"), days: Optional[int] = typer.Option(None, help="Only the last N days")) -> None:
    """Outcomes, not tokens: cost per merged PR, backlog automated, coverage of generated code."""
    from datetime import datetime, timedelta, timezone

    from orchestrator.outcomes import outcome_metrics

    since = datetime.now(timezone.utc) - timedelta(days=days) if days else None
    metrics = outcome_metrics(_ship().store, since=since)
    if as_json:
        typer.echo(metrics.model_dump_json(indent=2))
        return
    table = Table("", "model work", "scripted replays (not model work)")
    for label, key, fmt in [
        ("cost per merged PR", "cost_per_merged_pr_usd", "${:.4f}"),
        ("merged / closed / blocked / failed", None, None),
        ("spend", "spend_usd", "${:.4f}"),
        ("backlog automated", "backlog_automated_share", "{:.0%}"),
        ("diff coverage of merged code (mean)", "diff_coverage_mean", "{:.1f}%"),
        ("low-complexity tickets with no human touch", "low_complexity_untouched_share", "{:.0%}"),
    ]:
        cells = []
        for figures in (metrics.real, metrics.scripted):
            if key is None:
                cells.append(f"{figures.merged} / {figures.closed} / {figures.blocked} / {figures.failed}")
            else:
                value = getattr(figures, key)
                cells.append("-" if value is None else fmt.format(value))
        table.add_row(label, *cells)
    console.print(table)


@app.command("eval")
def eval_(
    instances: Path = typer.Argument(..., help="Tasks in SWE-bench's JSONL schema"),
    cassettes: Optional[Path] = typer.Option(None, help="Directory of <instance_id>.yml cassettes standing in for the model"),
    models: list[Path] = typer.Option([], "--models", help="Model catalogue file of one configuration (repeat to compare)"),
    compare_with: list[Path] = typer.Option([], "--compare-with", help="An earlier --json report to show side by side"),
    data_dir: Path = typer.Option(Path(".shipyard-eval"), help="Fresh directory for this run's store, queue and jobs"),
    sandbox: str = typer.Option("auto", help="auto | docker | local"),
    report: Optional[Path] = typer.Option(None, help="Also write the Markdown report here"),
    as_json: bool = typer.Option(False, "--json"),
    timeout_s: float = typer.Option(1800.0, help="Longest wait for one configuration's jobs"),
    run: bool = typer.Option(True, "--run/--no-run", help="--no-run: only show the --compare-with reports"),
) -> None:
    """Measure resolved rate, gate precision/recall and cost per resolved task on a task set."""
    from orchestrator.eval.command import eval_reports, render
    from orchestrator.eval.instances import EvalError

    try:
        reports = eval_reports(instances, data_dir=data_dir, cassettes=cassettes, models=models, sandbox_backend=sandbox,
                               timeout_s=timeout_s, compare_with=compare_with, run=run)
    except EvalError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2)
    typer.echo(render(reports, as_json=as_json, markdown_out=report))


@app.command("models-check")
def models_check() -> None:
    """Call each catalogue model once and report which answer (provider, model, URL)."""
    import os

    from agents.credentials import load_secrets
    from agents.health import check_models
    from orchestrator.models import load_catalogue

    settings = _ship().settings
    checks = check_models(load_catalogue(settings.models_file), load_secrets(os.environ, settings.secrets_file))
    table = Table("model", "provider", "model id", "URL", "answers", "detail")
    for c in checks:
        table.add_row(c.name, c.provider, c.model_id, c.url, "yes" if c.ok else "[red]no[/red]", escape(c.detail))
    console.print(table)
    raise typer.Exit(0 if all(c.ok for c in checks) else 1)


@app.command()
def worker(concurrency: int = typer.Option(2, help="Jobs worked at once"), loglevel: str = "INFO") -> None:
    """Run a Celery worker that works queued jobs."""
    from orchestrator.queue import install_worker_hooks

    ship = _ship()
    install_worker_hooks(ship.settings, ship.celery)
    ship.celery.worker_main(["worker", f"--concurrency={concurrency}", f"--loglevel={loglevel}", "-Q", "shipyard", "--without-gossip", "--without-mingle", "--without-heartbeat"])


@app.command()
def record(
    ticket_id: int = typer.Argument(..., help="A ticket of the backlog (without a cassette)"),
    out: Path = typer.Option(..., "--out", help="Cassette file to write"),
) -> None:
    """Run a ticket with the live models of the catalogue, in this process, and save the run as a cassette."""
    from agents.record import CassetteRecording
    from orchestrator.runner import JobRunner

    ship = _ship()
    try:
        job_id, created = ship.jobs_for_recording(ticket_id)
    except JobError as exc:
        _fail(str(exc))
    recording = CassetteRecording(out)
    state = JobRunner(ship.settings, ship.store, model_wrap=recording.wrap).run(job_id)
    console.print(f"job {job_id}: {state}; cassette written to {out}")
    console.print(f"replay it with: shipyard ticket add --repo … --title … --cassette {out} --label shipyard")


@app.command("run-job")
def run_job_inline(job_id: int) -> None:
    """Advance one job in this process (no worker): for operators and debugging."""
    from orchestrator.runner import JobRunner

    ship = _ship()
    console.print(f"job {job_id}: {JobRunner(ship.settings, ship.store).run(job_id)}")


@app.command()
def web(host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Serve the queue UI, job pages, review inbox and outcome dashboard."""
    import uvicorn

    from orchestrator.web.app import create_app

    ship = _ship()
    uvicorn.run(create_app(ship), host=host or ship.settings.web_host, port=port or ship.settings.web_port)


@app.command()
def demo(
    data_dir: Optional[Path] = typer.Option(None, help="Where the demo keeps its data (default: ./.shipyard-demo)"),
    forge: str = typer.Option("local", help="local (a git repository on disk) or github-emulator (a local GitHub emulator)"),
) -> None:
    """Run the sample backlog end to end: queue → sandbox → agent → gates → pull requests."""
    from orchestrator.demo import run_demo

    raise typer.Exit(run_demo(console, data_dir or Path(".shipyard-demo"), forge))


@app.command()
def poll(
    forge: str = typer.Argument(..., help="Only `github`"),
    interval: float = typer.Option(60.0, help="Seconds between polls"),
    once: bool = typer.Option(False, "--once", help="Poll one time and exit"),
) -> None:
    """Queue jobs for open issues labelled `shipyard` on registered GitHub repositories (instead of webhooks)."""
    from orchestrator.intake.github_poller import run_poller

    if forge != "github":
        _fail(f"poll: unknown forge {forge!r}; only 'github' can be polled")
    try:
        run_poller(_ship(), interval=interval, once=once, say=console.print)
    except (ForgeError, RuntimeError) as exc:
        _fail(str(exc))

"""The ``shipyard`` command line: thin commands that call into the domain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from orchestrator.cli import measure as cli_measure
from orchestrator.cli import queue_commands as cli_queue
from orchestrator.cli.common import JSON_HELP, STATES, _fail, _ship, console, err_console, print_rows
from orchestrator.cli.terminal import jobs_table, print_job, workers_table
from orchestrator.cli.users import users_app
from orchestrator.deployment import Shipyard
from orchestrator.domain import jobs
from orchestrator.domain.backlog import BacklogError, add_ticket, list_tickets, wants_agent
from orchestrator.domain.jobs import JobError
from orchestrator.forges.local_git import ForgeError
from orchestrator.reporting import job_views as views
from orchestrator.store.tables import JobState

app = typer.Typer(help="Shipyard: labelled tickets become gated pull requests.", no_args_is_help=True)
ticket_app = typer.Typer(help="The local backlog.", no_args_is_help=True)
jobs_app = typer.Typer(help="Jobs: one per attempt to resolve a ticket.", no_args_is_help=True)
review_app = typer.Typer(help="Human gates: plans, budgets, provider outages, pull requests.", no_args_is_help=True)
app.add_typer(ticket_app, name="ticket")
app.add_typer(jobs_app, name="jobs")
app.add_typer(review_app, name="review")
app.add_typer(users_app, name="users")


def _version(value: bool) -> None:
    if value:
        from orchestrator.worker.heartbeats import shipyard_version

        typer.echo(f"shipyard {shipyard_version()}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit"
    ),
) -> None:
    """Shipyard: labelled tickets become gated pull requests."""


def _queued(ship: Shipyard, job_id: int, text: str) -> None:
    """Say that work was left for a worker (and that none is seen, when none is)."""
    console.print(text)
    hint = ship.no_worker_hint()
    if hint:
        err_console.print(f"[yellow]warning:[/yellow] {escape(hint)}", highlight=False)


@contextmanager
def _broker_down_is_one_line(saved: str) -> Iterator[None]:
    """The store has the work; only the doorbell failed: say so in one line, not a traceback."""
    from kombu.exceptions import OperationalError as BrokerDown

    try:
        yield
    except BrokerDown as exc:
        _fail(f"{saved} is saved, but the queue's broker is unreachable ({str(exc).splitlines()[0]}); "
              "a worker's sweep sends it once the broker answers")  # fmt: skip


def _enqueue(ship: Shipyard, ticket_id: int) -> tuple[int, bool]:
    with _broker_down_is_one_line(f"ticket {ticket_id} (its job recorded as queued)"):
        return ship.enqueue_ticket(ticket_id)


@app.command()
def init(
    location: str = typer.Argument(..., help="A local git repository (path) or a git URL"),
    name: str | None = typer.Option(None, help="Short name for tickets and commands (default: the directory name)"),
    base_branch: str | None = typer.Option(None, help="Branch pull requests target (default: the repository's HEAD)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Keep the proposed configuration without asking"),
    store_only: bool = typer.Option(
        False,
        "--store-only",
        help="Keep the configuration in Shipyard's store only; write no .shipyard.yml into the repository's work tree",
    ),
    forge: str | None = typer.Option(
        None, "--forge", help="`github`: LOCATION is OWNER/NAME on GitHub (same as github:OWNER/NAME)"
    ),
) -> None:
    """Register a repository and propose its .shipyard.yml from what it holds (kept on confirmation)."""
    from orchestrator.cli.onboard import Consent, onboard

    if forge not in (None, "github", "local"):
        _fail(f"init --forge: expected github or local, got {forge!r}")
    if forge == "github" and not location.startswith("github:"):
        location = f"github:{location}"
    try:
        ship = _ship()
        onboard(
            ship.store,
            location,
            data_dir=ship.settings.data_dir,
            name=name,
            base_branch=base_branch,
            consent=Consent(yes=yes, interactive=console.is_terminal, store_only=store_only),
            console=console,
        )
    except (ForgeError, BacklogError, ValueError) as exc:
        _fail(str(exc))


@app.command()
def doctor(
    repo: str = typer.Argument(..., help="Repository name (see `shipyard init`)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Prove a repository's configuration in a real sandbox: setup, the suite twice, coverage; stores the baseline."""
    from orchestrator.cli.onboard import print_doctor_report
    from orchestrator.onboarding.doctor import DoctorError, run_doctor

    ship = _ship()
    try:
        report = run_doctor(
            ship.settings, ship.store, repo, progress=lambda m: err_console.print(f"[dim]{escape(m)}…[/dim]")
        )
    except DoctorError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        print_doctor_report(console, report)
    raise typer.Exit(0 if report.ok else 1)


def _live_models_answerable(ship: Shipyard) -> None:
    """A ticket for a live model is refused while its first model (triage) cannot be built (no API key, a bad
    catalogue): the job would block a moment after it was queued."""
    import os

    from agents.catalogue import CatalogueError
    from agents.credentials import load_secrets
    from agents.providers import ProviderError, make_chat_model
    from agents.router import ModelRouter, RoutingError
    from orchestrator.worker.model_setup import load_catalogue

    settings = ship.settings
    try:
        secrets = load_secrets(os.environ, settings.secrets_file)
        spec, _why = ModelRouter(load_catalogue(settings.models_file), secrets=secrets).choose("triage")
        make_chat_model(spec, secrets)
    except (ProviderError, RoutingError, CatalogueError, OSError) as exc:
        raise BacklogError(
            f"not added: a live model would work this ticket and {exc} (or pass --cassette to replay one)"
        ) from None


@ticket_app.command("add")
def ticket_add(
    repo: str = typer.Option(..., help="Repository name (see `shipyard init`)"),
    title: str = typer.Option(..., help="One line: what should change"),
    body: str = typer.Option("", help="The details"),
    label: list[str] = typer.Option([], "--label", "-l", help="Labels; `shipyard` hands the ticket to the agent"),
    cassette: Path | None = typer.Option(None, help="Replay this scripted-model cassette instead of a live model"),
) -> None:
    """Add a ticket to the local backlog; labelled `shipyard`, it is queued at once."""
    ship = _ship()
    try:
        if cassette is None and wants_agent(label):
            _live_models_answerable(ship)
        ticket = add_ticket(ship.store, repo=repo, title=title, body=body, labels=label, cassette=cassette)
    except BacklogError as exc:
        _fail(str(exc))
    console.print(f"ticket {ticket.id} added" + (" (scripted model)" if ticket.cassette else ""))
    if wants_agent(ticket.labels):
        job_id, _ = _enqueue(ship, ticket.id)
        _queued(ship, job_id, f"queued as job {job_id}")
    else:
        console.print(f"not queued: it has no `shipyard` label; queue it with `shipyard ticket queue {ticket.id}`")


@ticket_app.command("list")
def ticket_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """List the backlog."""
    print_rows(list_tickets(_ship().store), as_json=as_json, table=_tickets_table)


def _tickets_table(rows: list[dict]) -> Table:
    table = Table("id", "repo", "title", "labels", "last job", "state")
    for r in rows:
        table.add_row(
            str(r["id"]), r["repo"], r["title"], ",".join(r["labels"]), str(r["last_job"] or ""), r["last_state"] or ""
        )
    return table


@ticket_app.command("queue")
def ticket_queue(ticket_id: int = typer.Argument(..., help="Ticket id (see `shipyard ticket list`)")) -> None:
    """Queue a job for a ticket (no-op when one is already active)."""
    ship = _ship()
    try:
        job_id, created = _enqueue(ship, ticket_id)
    except JobError as exc:
        _fail(str(exc))
    _queued(ship, job_id, f"{'queued' if created else 'already active:'} job {job_id}")


NUMBERS_MAY_BE_NEGATIVE = {"ignore_unknown_options": True}
"""``jobs show -1`` reaches the job id's range check instead of "No such option: -1"."""


@jobs_app.command("list")
def jobs_list(
    state: str | None = typer.Option(None, help=f"Only jobs in this state: {', '.join(STATES)}"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    limit: int = typer.Option(50, help="Jobs per page (1-1000)"),
    before: int | None = typer.Option(
        None, help="Only jobs with an id below this (the next page's cursor, newest first)"
    ),
    oldest: bool = typer.Option(False, "--oldest", help="Oldest first (default: newest first)"),
    after: int | None = typer.Option(
        None, help="With --oldest: only jobs with an id above this (the next page's cursor)"
    ),
) -> None:
    """List jobs, newest first (or --oldest first), a page at a time."""
    if state is not None and state not in STATES:
        raise typer.BadParameter(
            f"{state!r} is not a job state; valid states: {', '.join(STATES)}", param_hint="--state"
        )
    if (after is not None and not oldest) or (before is not None and oldest):
        hint = "--after" if after is not None else "--before"
        raise typer.BadParameter(
            "--before pages newest first, --after pages --oldest first; give the one for your order", param_hint=hint
        )
    try:
        rows = views.list_jobs(
            _ship().store, state=state, limit=limit, cursor=after if oldest else before, oldest=oldest
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--limit") from None
    more = ""
    if len(rows) == limit:
        cursor = f"--oldest --after {rows[-1]['id']}" if oldest else f"--before {rows[-1]['id']}"
        more = f"more: shipyard jobs list --limit {limit} {cursor}{f' --state {state}' if state else ''}"
    print_rows(rows, as_json=as_json, table=jobs_table, note=more)


@jobs_app.command("show", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def jobs_show(
    job_id: int = typer.Argument(..., min=1, help="Job id (see `shipyard jobs list`)"),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    diff: bool = typer.Option(False, help="Print the diff"),
) -> None:
    """A job's state, reason, plan, timeline, gate table per attempt and cost."""
    ship = _ship()
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
    if detail is None:
        _fail(f"job {job_id} does not exist")
    if as_json:
        typer.echo(json.dumps(detail, indent=2, default=str))
        return
    print_job(console, detail, diff)


@jobs_app.command("cancel", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def jobs_cancel(job_id: int = typer.Argument(..., min=1, help="Job id")) -> None:
    """Cancel a job; a running one stops at its next step."""
    try:
        _ship().cancel(job_id)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"job {job_id} cancelled")


@jobs_app.command("retry", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def jobs_retry(job_id: int = typer.Argument(..., min=1, help="Job id of a finished job")) -> None:
    """Start a new job for the ticket of a finished job."""
    ship = _ship()
    try:
        with _broker_down_is_one_line(f"the retry of job {job_id}"):
            new_id = ship.retry(job_id)
    except JobError as exc:
        _fail(str(exc))
    _queued(ship, new_id, f"queued job {new_id}")


@review_app.command("list")
def review_list(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Jobs waiting for a human decision."""
    print_rows(views.review_inbox(_ship().store), as_json=as_json, table=jobs_table)


def _decide(job_id: int, decision: str, comment: str, extra_usd: float = 0.0, lines: list[str] | None = None) -> None:
    ship = _ship()
    line_comments = []
    for text in lines or []:
        path, _, rest = text.partition(":")
        number, _, body = rest.partition(":")
        if not (path and number.strip().isdigit() and body.strip()):
            raise typer.BadParameter(
                f"{text!r}: write PATH:LINE:COMMENT, e.g. textkit/slug.py:12:name the constant", param_hint="--line"
            )
        line_comments.append({"path": path, "line": int(number), "body": body.strip()})
    try:
        with _broker_down_is_one_line(f"the decision on job {job_id}"):
            gate = ship.decide(job_id, decision, comment=comment, extra_usd=extra_usd, line_comments=line_comments)
    except JobError as exc:
        _fail(str(exc))
    if jobs.state_of(ship.store, job_id) == JobState.CLOSED:  # a pull request left open, closed now
        console.print(f"job {job_id}: pull request closed; the job is closed")
        return
    _queued(ship, job_id, f"job {job_id}: {gate} {decision.replace('_', ' ')} recorded; the job resumes on a worker")


JOB_ID = typer.Argument(..., min=1, help="Job id (see `shipyard review list`)")
COMMENT = typer.Option("", help="Why (kept with the decision)")


@review_app.command("approve", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def review_approve(
    job_id: int = JOB_ID,
    comment: str = COMMENT,
    extra_usd: float = typer.Option(0.0, min=0.0, help="Budget gate: extra USD granted"),
) -> None:
    """Approve the plan, the budget extension or the pull request (which merges it); resume a job
    waiting for its provider now."""
    _decide(job_id, "approve", comment, extra_usd)


@review_app.command("reject", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def review_reject(job_id: int = JOB_ID, comment: str = COMMENT) -> None:
    """Reject: the pull request is closed (or the plan / budget refused, the provider wait stopped) and the job ends."""
    _decide(job_id, "reject", comment)


@review_app.command("request-changes", context_settings=NUMBERS_MAY_BE_NEGATIVE)
def review_request_changes(
    job_id: int = JOB_ID,
    comment: str = typer.Option("", help="What the agent must change"),
    line: list[str] = typer.Option(
        [], "--line", help="A comment on a line of the diff: PATH:LINE:COMMENT (repeatable)"
    ),
) -> None:
    """Send the comments back to the agent as a new attempt on the same branch."""
    _decide(job_id, "request_changes", comment, lines=line)


_HELD: list = []


def _hold_data_dir(ship: Shipyard) -> None:
    """Mark the data directory used while this process runs: a new demo or a restore refuses to replace it."""
    from orchestrator.store.in_use import DataDirInUse, hold_shared

    try:
        _HELD.append(hold_shared(ship.settings.data_dir))
    except DataDirInUse as exc:
        _fail(str(exc))


@app.command()
def worker(
    concurrency: int = typer.Option(2, min=1, help="Jobs worked at once"),
    loglevel: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR"),
    poll: str | None = typer.Option(
        None, "--poll", help="`github`: also poll GitHub for labelled issues (no webhook needed)"
    ),
    poll_interval: float = typer.Option(60.0, help="Seconds between polls with --poll"),
) -> None:
    """Run a Celery worker that works queued jobs (and, with --poll github, polls GitHub for work)."""
    from orchestrator.worker.celery_app import install_worker_hooks
    from orchestrator.worker.process_group import poller_alongside

    if poll not in (None, "github"):
        _fail(f"worker --poll: unknown forge {poll!r}; only 'github' can be polled")
    ship = _ship()
    _hold_data_dir(ship)
    install_worker_hooks(ship.settings, ship.celery, concurrency)
    from orchestrator.worker.watchdog import EXIT_WEDGED, WEDGED

    with poller_alongside(poll, poll_interval):
        try:
            ship.celery.worker_main(
                [
                    "worker",
                    f"--concurrency={concurrency}",
                    f"--loglevel={loglevel}",
                    "-Q",
                    "shipyard",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ]
            )
        finally:
            if WEDGED.is_set():  # stopped itself: a supervisor should start it again
                raise SystemExit(EXIT_WEDGED)


@app.command()
def record(
    ticket_id: int = typer.Argument(..., help="A ticket of the backlog (without a cassette)"),
    out: Path = typer.Option(..., "--out", help="Cassette file to write"),
) -> None:
    """Run a ticket with the live models of the catalogue, in this process, and save the run as a cassette."""
    from agents.record import CassetteRecording
    from orchestrator.worker.job_runner import JobRunner

    ship = _ship()
    try:
        job_id, created = ship.jobs_for_recording(ticket_id)
    except JobError as exc:
        _fail(str(exc))
    recording = CassetteRecording(out)
    before = out.stat().st_mtime_ns if out.is_file() else None
    state = JobRunner(ship.settings, ship.store, model_wrap=recording.wrap).run(job_id)
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id) or {}
    console.print(f"job {job_id}: {state}" + (f" — {escape(detail['reason'])}" if detail.get("reason") else ""))
    if not out.is_file() or out.stat().st_mtime_ns == before:
        _fail(f"no cassette was written to {out}: the job made no model call worth replaying (it ended {state})")
    if state in (JobState.BLOCKED.value, JobState.FAILED.value):
        _fail(
            f"cassette written to {out}, but the job ended {state}: a replay reproduces that run, not a resolved ticket"
        )
    console.print(f"cassette written to {out}")
    console.print(f"replay it with: shipyard ticket add --repo … --title … --cassette {out} --label shipyard")


@app.command("run-job")
def run_job_inline(job_id: int = typer.Argument(..., help="Job id")) -> None:
    """Advance one job in this process (no worker): for operators and debugging."""
    from orchestrator.worker.job_runner import JobRunner

    ship = _ship()
    console.print(f"job {job_id}: {JobRunner(ship.settings, ship.store).run(job_id)}")


@app.command()
def web(
    host: str | None = typer.Option(None, help="Address to listen on (default: SHIPYARD_WEB_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, min=1, max=65535, help="Port (default: SHIPYARD_WEB_PORT, 8700)"),
) -> None:
    """Serve the queue UI, job pages, review inbox and outcome dashboard."""
    import socket

    import uvicorn

    from orchestrator.web.app import create_app
    from orchestrator.web.startup import WebStartError, prepare_auth

    ship = _ship()
    _hold_data_dir(ship)
    host, port = host or ship.settings.web_host, port or ship.settings.web_port
    try:
        for note in prepare_auth(ship, host):
            err_console.print(f"[yellow]note:[/yellow] {escape(note)}", highlight=False)
    except WebStartError as exc:
        _fail(str(exc))
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}; stop what holds it or pass --port")
    # Live pages hold streams open: on shutdown they get a few seconds, then are closed.
    uvicorn.run(create_app(ship), host=host, port=port, timeout_graceful_shutdown=5)


@app.command()
def workers(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Workers from their heartbeats: alive, dead or stopped, jobs in hand, jobs recovered from dead ones."""
    rows = _ship().workers()
    idle = not any(w["status"] == "alive" for w in rows)
    note = "no live worker: queued jobs wait until one starts (`shipyard worker`)" if idle else ""
    print_rows(rows, as_json=as_json, table=workers_table, note=note)


@app.command()
def backup(
    dest: Path = typer.Argument(..., help="A new directory for the backup"),
    check: bool = typer.Option(False, "--check", help="Verify the backup at DEST instead of taking one"),
) -> None:
    """Back up the store, the checkpoints and the local repositories (with the job refs) while workers run."""
    from orchestrator.store import backup as backups

    if check:
        try:
            problems = backups.check(dest)
        except backups.BackupError as exc:
            _fail(str(exc))
        if problems:
            _fail(f"{dest}: " + "; ".join(problems))
        console.print(f"{dest}: the backup is whole and restores")
        return
    ship = _ship()
    try:
        report = backups.backup(ship.settings, ship.store, dest)
    except (backups.BackupError, OSError) as exc:
        _fail(str(exc))
    kept = report.files + [f"{r} (git, every ref)" for r in report.repositories]
    console.print(f"backed up into {report.dest}: {', '.join(kept) or 'nothing'}", highlight=False)
    for left in report.left_out:
        err_console.print(f"[yellow]note:[/yellow] not copied (outside the data directory): {escape(left)}")
    if report.postgres:
        err_console.print(
            "[yellow]the database is PostgreSQL:[/yellow] dump it into the backup now, then check it:\n  "
            + escape(backups.PG_DUMP_COMMAND.format(dest=report.dest))
            + f"\n  shipyard backup --check {report.dest}"
        )


@app.command()
def restore(source: Path = typer.Argument(..., help="A directory made by `shipyard backup`")) -> None:
    """Restore a backup as this deployment's data directory (SHIPYARD_DATA_DIR, which must be new or empty)."""
    from orchestrator.settings import Settings
    from orchestrator.store import backup as backups
    from orchestrator.store.in_use import DataDirInUse, exclusive

    settings = Settings()
    try:
        with exclusive(settings.data_dir, "restoring into it"):
            manifest = backups.restore(settings, source)
    except (backups.BackupError, DataDirInUse, OSError) as exc:
        _fail(str(exc))
    console.print(
        f"restored the backup of {manifest['created_at']} into {settings.data_dir}; start `shipyard worker`: "
        "jobs that were running resume from their checkpoints",
        highlight=False,
    )


@app.command()
def demo(
    data_dir: Path | None = typer.Option(None, help="Where the demo keeps its data (default: ./.shipyard-demo)"),
    forge: str = typer.Option(
        "local", help="local (a git repository on disk) or github-emulator (a local GitHub emulator)"
    ),
) -> None:
    """Run the sample backlog end to end: queue → sandbox → agent → gates → pull requests."""
    from orchestrator.demo.walkthrough import run_demo

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
        run_poller(_ship(), interval=interval, once=once, say=lambda m: console.print(m, highlight=False))
    except (ForgeError, RuntimeError) as exc:
        _fail(str(exc))


cli_measure.register(app)
cli_queue.register(jobs_app)

"""``shipyard demo``: a sample backlog through queue → sandbox → agent → gates → pull requests.

Everything is real (SQLite store, Celery worker in a separate process over the embedded
filesystem broker, sandboxes, git, the gate) except the model, which is a scripted replay
of cassettes — and the output says so.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import yaml
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from orchestrator.demo.backend_choice import choose_demo_backend
from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket, register_repository
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.in_use import DataDirInUse, exclusive
from orchestrator.store.tables import Event, JobState, Ticket
from orchestrator.worker.process_group import start_worker, stop_worker
from orchestrator.worker.sandboxing import describe_backend
from workflows.gitops import run_git

ASSETS = Path(__file__).parent / "assets"
MARKER = ".shipyard-demo"
SETTLED = {s.value for s in JobState if s.is_final or s.is_waiting_for_human}
TIMEOUT_S = 900
FORGES = ("local", "github-emulator")


def run_demo(console: Console, data_dir: Path, forge: str = "local") -> int:
    """Run the sample backlog; 0 only when every ticket ends as the backlog is designed to.

    ``forge``: ``local`` (a git repository on disk) or ``github-emulator`` (a local GitHub emulator)."""
    if forge not in FORGES:
        raise SystemExit(f"shipyard demo: --forge must be one of {', '.join(FORGES)}, got {forge!r}")
    data_dir = _fresh_data_dir(data_dir.resolve())
    backend = choose_demo_backend(console)
    settings = Settings(data_dir=data_dir, sandbox_backend=backend)
    ship = Shipyard.load(settings)
    console.rule("[bold]Shipyard demo")
    console.print("[yellow bold]Model: SCRIPTED.[/yellow bold] Every model turn is replayed from a cassette in "
                  f"{ASSETS / 'cassettes'}; no live model is called and no API key is used.")  # fmt: skip
    console.print(f"Sandbox: {describe_backend(backend)}")
    console.print(f"Data directory: {data_dir} (SQLite store, filesystem queue, checkpoints)")
    repo = _sample_repository(data_dir / "repos" / "textkit")
    if forge == "local":
        register_repository(ship.store, repo, name="textkit", data_dir=data_dir)
        return _run(ship, console, data_dir, None)
    from orchestrator.demo.github_forge import FULL_NAME, demo_github
    from orchestrator.intake.github_repository import register_github_repository

    with demo_github(data_dir, repo) as github:
        console.print(
            f"Forge: [bold]local GitHub emulator[/bold] at {github.state.base} (not GitHub; gone when the demo ends)"
        )
        register_github_repository(ship.store, f"github:{FULL_NAME}", name="textkit")
        return _run(ship, console, data_dir, github)


def _run(ship: Shipyard, console: Console, data_dir: Path, github) -> int:
    expected = _queue_backlog(ship, console, github)
    job_ids = list(expected)
    worker = start_worker(ship.settings, env=github.env if github else None)
    try:
        finished = _watch(ship, console, job_ids, worker)
    finally:
        stop_worker(worker)
    _summary(ship, console, job_ids)
    if github:
        github.report(console)
    else:
        _next_steps(console, data_dir, ship, job_ids)
    return _verdict(ship, console, expected, finished, data_dir)


def _fresh_data_dir(data_dir: Path) -> Path:
    if data_dir.exists():
        if not (data_dir / MARKER).exists():
            raise SystemExit(f"{data_dir} exists and is not a demo directory; choose another --data-dir")
        try:
            with exclusive(data_dir, "running the demo again (it deletes the directory)"):
                shutil.rmtree(data_dir)
        except DataDirInUse as exc:
            raise SystemExit(f"shipyard demo: {exc}") from None
    data_dir.mkdir(parents=True)
    (data_dir / MARKER).write_text("created by `shipyard demo`; deleted by the next run\n")
    return data_dir


def _sample_repository(path: Path) -> Path:
    shutil.copytree(ASSETS / "sample_repo", path)
    run_git(["init", "-q", "-b", "main", str(path)])
    run_git(["add", "-A"], cwd=path)
    run_git(["commit", "-q", "-m", "textkit: initial version"], cwd=path)
    return path


def _queue_backlog(ship: Shipyard, console: Console, github=None) -> dict[int, dict]:
    """Queue every sample ticket (an issue on the emulator with ``github``); job id → its designed outcome."""
    expected = {}
    for path in sorted((ASSETS / "tickets").glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        cassette = (path.parent / spec["cassette"]).resolve()
        ticket = add_ticket(ship.store, repo="textkit", title=spec["title"], body=spec.get("body", ""),
                            labels=spec.get("labels", []), cassette=cassette)  # fmt: skip
        if github is not None:
            number = github.open_issue(spec["title"], spec.get("body", ""), spec.get("labels", []))
            with ship.store.session() as s:
                row = s.get(Ticket, ticket.id)
                row.source, row.external_id = "github", str(number)
        job_id, _ = ship.enqueue_ticket(ticket.id)
        expected[job_id] = spec["expect"]
        console.print(f"ticket {ticket.id} [bold]{ticket.title}[/bold] → queued as job {job_id}")
    return expected


def _watch(ship: Shipyard, console: Console, job_ids: list[int], worker: subprocess.Popen) -> bool:
    """Print each job's timeline as it happens until every job is settled (or waits for a human)."""
    console.rule("progress (Celery worker in a separate process)")
    seen = 0
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        with ship.store.session() as s:
            for event in s.scalars(select(Event).where(Event.id > seen, Event.job_id.in_(job_ids)).order_by(Event.id)):
                seen = event.id
                if event.kind != "tool" or event.message.startswith(("edit", "create", "finish")):
                    console.print(
                        f"[dim]job {event.job_id}[/dim] [cyan]{event.kind:>9}[/cyan] {escape(event.message[:160])}",
                        highlight=False,
                    )
        states = {j["id"]: j["state"] for j in views.list_jobs(ship.store) if j["id"] in job_ids}
        if all(states.get(j) in SETTLED for j in job_ids):
            return True
        if worker.poll() is not None:
            console.print(f"[red]the worker exited ({worker.returncode}); see its log[/red]")
            return False
        time.sleep(0.5)
    console.print("[red]the demo timed out waiting for the jobs[/red]")
    return False


def _gate_verdicts(detail: dict) -> list[str]:
    """Each attempt's gate verdict: ``passed``, ``failed``, or the attempt's outcome when it was not gated."""
    verdicts = []
    for attempt in detail["attempt_list"]:
        gate = attempt["gate"]
        verdicts.append((attempt["outcome"] or "-") if gate is None else ("passed" if gate.get("passed") else "failed"))
    return verdicts


def _gate_column(detail: dict) -> str:
    """``1 failed, 2 passed``: each attempt's gate verdict."""
    return ", ".join(f"{n} {verdict}" for n, verdict in enumerate(_gate_verdicts(detail), 1)) or "-"


def _verdict(ship: Shipyard, console: Console, expected: dict[int, dict], finished: bool, data_dir: Path) -> int:
    """Compare each job with what its sample ticket is designed to produce; non-zero on any difference."""
    problems = [] if finished else ["not every job settled (see above)"]
    for job_id, want in expected.items():
        d = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
        got = {"state": d["state"], "gates": _gate_verdicts(d), "sandbox": d["sandbox"]}
        differs = [key for key in ("state", "gates") if got[key] != want[key]]
        if d["sandbox"] not in (None, "docker", "bwrap"):
            differs.append("sandbox")
        if differs:
            problems.append(f"ticket #{d['ticket_id']} ({d['title']}): expected state {want['state']} with gates "
                            f"{want['gates']}, got {got['state']} with gates {got['gates']} in sandbox {got['sandbox']}"
                            + (f" — {d['reason']}" if d["reason"] else ""))  # fmt: skip
    if not problems:
        console.print("[green]Every ticket ended as the sample backlog is designed to.[/green]")
        return 0
    console.print(
        "[red bold]DEMO FAILED:[/red bold] the run did not produce the outcomes the sample backlog is designed for:"
    )
    for problem in problems:
        console.print(f"  - {escape(problem)}", highlight=False)
    console.print(f"  worker log: {data_dir / 'worker.log'}")
    return 1


def _outcome_column(detail: dict) -> str:
    if detail["pr"]:
        return f"PR #{detail['pr']['number']} {detail['pr']['state']}" + (
            " (awaits review)" if detail["state"] == "awaiting_review" else ""
        )
    return detail["state"]


def _summary(ship: Shipyard, console: Console, job_ids: list[int]) -> None:
    table = Table("job", "ticket", "outcome", "tries", "gate per attempt", "diff cov", "model cost", "wall",
                  title="Outcomes (commands take the job number)")  # fmt: skip
    notes = []
    for job_id in job_ids:
        d = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
        cov = f"{d['diff_coverage']:.0f}%" if d["diff_coverage"] is not None else "-"
        cost = f"${d['cost_usd']:.4f}" + ("*" if d["scripted"] else "")
        title = d["title"] if len(d["title"]) <= 30 else d["title"][:29] + "…"
        table.add_row(
            str(d["id"]),
            f"#{d['ticket_id']} {title}",
            _outcome_column(d),
            str(d["attempts"]),
            _gate_column(d),
            cov,
            cost,
            f"{d['wall_s']:.0f}s",
        )
        for attempt in d["attempt_list"]:
            if attempt["gate"] and not attempt["gate"].get("passed"):
                failed = [c["name"] for c in attempt["gate"].get("checks", []) if not c.get("passed")]
                notes.append(
                    f"job {d['id']} attempt {attempt['number']}: gate failed ({', '.join(failed)}) "
                    "→ sent back to the agent"
                )
        if d["reason"] and not d["pr"]:
            notes.append(f"job {d['id']} {d['state']}: {d['reason']}")
    console.print(table)
    console.print(
        "* scripted replay: the cost shown is the cost recorded with the cassette (or $0), not money spent now."
    )
    for note in notes:
        console.print(f"  {escape(note)}", highlight=False)


def _next_steps(console: Console, data_dir: Path, ship: Shipyard, job_ids: list[int]) -> None:
    waiting = [j["id"] for j in views.review_inbox(ship.store) if j["id"] in job_ids]
    env = f"SHIPYARD_DATA_DIR={data_dir}"
    console.rule("what next")
    console.print("Every model turn above was [bold]scripted[/bold] (replayed from cassettes).")
    if waiting:
        console.print(f"Pull requests waiting for you: jobs {', '.join(map(str, waiting))}. Review them:")
        console.print(f"  {env} .venv/bin/shipyard review list")
        console.print(f"  {env} .venv/bin/shipyard jobs show {waiting[0]} --diff")
        console.print(f"  {env} .venv/bin/shipyard review approve {waiting[0]}        # merges into main")
        console.print(
            f"  {env} .venv/bin/shipyard review reject {waiting[0]} --comment '…'   # closes the pull request"
        )
        console.print(f"  {env} .venv/bin/shipyard review request-changes {waiting[0]} --comment '…'")
        console.print(f"  {env} .venv/bin/shipyard worker     # works the decisions you queued")
        console.print(
            "  The replayed model has no answer to new comments: after request-changes the worker reports that the "
            "agent made no change and the job stops (blocked) with its pull request open; "
            f"`shipyard review reject {waiting[0]}` then closes it."
        )
    console.print(f"Web page: {env} .venv/bin/shipyard users add you --role admin   # once: the web app needs a login")
    console.print(
        f"          {env} .venv/bin/shipyard web  →  http://{ship.settings.web_host}:{ship.settings.web_port}/"
    )

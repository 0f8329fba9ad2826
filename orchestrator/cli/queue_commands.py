"""Queue commands under ``shipyard jobs``: retention (``gc``), a job's priority, a repository's cap."""

from __future__ import annotations

import typer
from rich.markup import escape

from orchestrator.cli.common import _fail, _ship, console


def _size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def jobs_gc(
    days: float | None = typer.Option(
        None,
        min=0,
        help="Keep directories of jobs finished less than this many days ago (default: SHIPYARD_RETAIN_JOB_DIRS_DAYS)",
    ),
) -> None:
    """Remove the working directories and checkpoints of jobs that finished longer ago than the retention, and
    finished jobs' refs left on their forges; prints what was freed."""
    from orchestrator.housekeeping.checkpoint_retention import collect_checkpoints
    from orchestrator.housekeeping.forge_refs import sweep_job_refs
    from orchestrator.housekeeping.retention import collect_job_dirs

    ship = _ship()
    retain = ship.settings.retain_job_dirs_days if days is None else days
    freed = collect_job_dirs(ship.store, ship.settings.job_dirs, retain)
    for f in freed:
        console.print(
            f"job {f.job_id}: removed {ship.settings.job_dirs.job(f.job_id)} ({_size(f.bytes)})", highlight=False
        )
    threads = collect_checkpoints(ship.settings, ship.store, retain)
    for t in threads:
        console.print(f"job {t.job_id}: removed {t.rows} checkpoint row(s) ({_size(t.bytes)})", highlight=False)
    total = sum(f.bytes for f in freed)
    console.print(f"freed {_size(total)} from {len(freed)} finished job(s) older than {retain:g} day(s); "
                  "their diffs, events, gate reports and pull requests stay in the store", highlight=False)  # fmt: skip
    console.print(f"checkpoints: {sum(t.rows for t in threads)} row(s), {_size(sum(t.bytes for t in threads))} "
                  f"from {len(threads)} finished job(s)", highlight=False)  # fmt: skip
    for ref in sweep_job_refs(ship.settings, ship.store):
        console.print(
            f"job {ref.job_id}: removed refs/shipyard/jobs/{ref.job_id} from {escape(ref.repository)}'s forge",
            highlight=False,
        )


def jobs_priority(
    job_id: int = typer.Argument(..., help="Job id (not finished)"),
    level: str = typer.Argument(..., help="low, normal, high or urgent"),
) -> None:
    """Move a job in the queue: workers take higher priorities first (a ticket's `priority:<level>` label sets it)."""
    from orchestrator.domain.jobs import JobError, set_priority

    try:
        name = set_priority(_ship().store, job_id, level)
    except JobError as exc:
        _fail(str(exc))
    console.print(f"job {job_id}: priority {name}")


def jobs_cap(
    repo: str = typer.Argument(..., help="Repository name (see `shipyard init`)"),
    max_running: int | None = typer.Argument(
        None,
        min=1,
        help="Jobs of this repository worked at once; "
        "leave out to use its .shipyard.yml's queue.max_running_jobs, "
        "else SHIPYARD_REPO_MAX_RUNNING_JOBS",
    ),
) -> None:
    """Cap how many jobs of one repository are worked at once (other repositories' jobs take the free workers)."""
    from orchestrator.domain.scheduling import set_repository_cap

    ship = _ship()
    try:
        set_repository_cap(ship.store, repo, max_running)
    except ValueError as exc:
        _fail(str(exc))
    default = ship.settings.repo_max_running_jobs
    shown = (
        max_running
        if max_running is not None
        else (f"its .shipyard.yml's queue.max_running_jobs, else the deployment's ({default if default else 'no cap'})")
    )
    console.print(f"repository {escape(repo)}: at most {shown} job(s) worked at once", highlight=False)


def register(jobs_app: typer.Typer) -> None:
    jobs_app.command("gc")(jobs_gc)
    jobs_app.command("priority")(jobs_priority)
    jobs_app.command("cap")(jobs_cap)

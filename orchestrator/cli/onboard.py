"""What ``shipyard init`` and ``shipyard doctor`` say and ask on the terminal."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from orchestrator.domain.backlog import is_git_url, register_repository, store_repository_config
from orchestrator.onboarding.detect import RepoFiles, propose
from orchestrator.onboarding.doctor import DoctorReport
from orchestrator.onboarding.inspect import committed_tree
from orchestrator.store import Store
from orchestrator.store.paths import resolved_path
from orchestrator.store.tables import Repository
from workflows.repo_config import CONFIG_FILE


def _where(repo: Repository, data_dir: Path | None) -> str:
    """A local repository's path now (stored relative when inside the data directory), or its git URL."""
    return repo.url if data_dir is None else resolved_path(data_dir, repo.url)


@dataclass(frozen=True)
class Consent:
    """How a proposed configuration is kept: at once (``yes``), after a question on a terminal
    (``interactive``), else not at all; with ``store_only`` never written beside a local work tree."""

    yes: bool
    interactive: bool
    store_only: bool = False


def onboard(
    store: Store,
    location: str,
    *,
    name: str | None,
    base_branch: str | None,
    consent: Consent,
    console: Console,
    data_dir: Path | None = None,
) -> None:
    """Register ``location`` (a local path, a git URL, or ``github:OWNER/NAME``), propose a configuration
    from its base branch unless one is committed, and keep it when confirmed. A GitHub repository's
    configuration is kept in the store only."""
    github = location.startswith("github:")
    if github:
        repo = _register_github(store, location, name=name, base_branch=base_branch, console=console)
    else:
        repo = register_repository(
            store,
            location if is_git_url(location) else Path(location),
            name=name,
            base_branch=base_branch,
            data_dir=data_dir,
        )
        console.print(
            f"registered [bold]{escape(repo.name)}[/bold] → {escape(repo.url)} (base branch {escape(repo.base_branch)})"
        )
    with tempfile.TemporaryDirectory(prefix="shipyard-init-") as scratch:
        files, committed = (
            _github_tree(repo, Path(scratch))
            if github
            else committed_tree(_where(repo, data_dir), repo.base_branch, Path(scratch))
        )
        if committed is not None:
            console.print(f"It has a committed {CONFIG_FILE}: jobs use it. Check it with: shipyard doctor {repo.name}")
            return
        proposal = propose(files)  # reads files while their scratch clone exists
    if github:
        consent = replace(consent, store_only=True)
    _offer(store, repo, proposal, consent, console=console, data_dir=data_dir)


def _register_github(
    store: Store, location: str, *, name: str | None, base_branch: str | None, console: Console
) -> Repository:
    """Register ``github:OWNER/NAME`` and return its repository row."""
    from sqlalchemy import select

    from orchestrator.intake.github_repository import register_github_repository

    console.print(register_github_repository(store, location, name=name, base_branch=base_branch), highlight=False)
    full = location.removeprefix("github:").strip().removesuffix(".git")
    with store.session() as s:
        repo = s.scalars(select(Repository).where(Repository.url == full, Repository.forge == "github")).one()
        s.expunge(repo)
    return repo


def _github_tree(repo: Repository, scratch: Path) -> tuple[RepoFiles, bytes | None]:
    """The files of a GitHub repository's base branch and its committed configuration, fetched over HTTPS."""
    from orchestrator.forges import github_forge
    from orchestrator.onboarding.inspect import tree_at
    from workflows.gitops import GitRepo

    git_dir = scratch / "inspect.git"
    return tree_at(GitRepo(git_dir), github_forge().fetch_branch(repo.url, repo.base_branch, git_dir))


def _offer(store: Store, repo, proposal, consent: Consent, *, console: Console, data_dir: Path | None) -> None:
    """Show the proposed configuration and keep it in the store when confirmed (and beside a local work tree)."""
    proposal.validated()
    text = proposal.to_yaml()
    console.print(f"Proposed {CONFIG_FILE} ({proposal.layout}):")
    console.print(Syntax(text, "yaml", word_wrap=True))
    if not consent.yes and not (consent.interactive and typer.confirm("Keep this configuration?", default=True)):
        hint = "" if consent.interactive else " (not a terminal: pass --yes to keep it)"
        console.print(f"Not kept{hint}; jobs use the defaults until a {CONFIG_FILE} is committed or kept.")
        return
    store_repository_config(store, repo.name, text)
    console.print(
        f"Kept in Shipyard's store for {repo.name}; a committed {CONFIG_FILE} in the repository wins over it."
    )
    target = Path(_where(repo, data_dir)) / CONFIG_FILE
    beside_work_tree = not is_git_url(repo.url) and target.parent.joinpath(".git").exists()
    if not consent.store_only and beside_work_tree and not target.exists():
        target.write_text(text, encoding="utf-8")
        console.print(f"Wrote {target}: commit it to share it with your team (git add {CONFIG_FILE} && git commit).")
    console.print(f"Next: shipyard doctor {repo.name}   # proves it in a real sandbox and warms the baseline")


def print_doctor_report(console: Console, report: DoctorReport) -> None:
    where = f" on {report.base_sha[:12]}" if report.base_sha else ""
    console.print(f"[bold]shipyard doctor {escape(report.repo)}[/bold]{where}"
                  + (f" — {report.backend} sandbox" if report.backend else ""))  # fmt: skip
    for finding in report.findings:
        mark = (
            "[green]ok[/green]  " if finding.ok else ("[yellow]warn[/yellow]" if finding.warning else "[red]FAIL[/red]")
        )
        console.print(f"  {mark} {escape(finding.what)}", highlight=False, soft_wrap=True)
        if finding.fix:
            console.print(f"       [bold]fix:[/bold] {escape(finding.fix)}", highlight=False, soft_wrap=True)
    verdict = (
        "[green]ready: jobs on this repository can run[/green]"
        if report.ok
        else "[red]not ready: fix the problems above[/red]"
    )
    console.print(verdict)

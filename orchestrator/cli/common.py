"""What every command shares: the consoles, loading the deployment, failing with one clear line."""

from __future__ import annotations

import typer
from rich.markup import escape

from orchestrator.cli.terminal import make_console
from orchestrator.deployment import Shipyard
from orchestrator.store.tables import JobState

console = make_console()
err_console = make_console(stderr=True)
JSON_HELP = "Print JSON instead of a table"
STATES = [s.value for s in JobState]


def _ship() -> Shipyard:
    from sqlalchemy.exc import OperationalError

    from orchestrator.settings import Settings

    settings = Settings()
    try:
        return Shipyard.load(settings)
    except OperationalError as exc:  # one line and the way out, not a traceback
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        _fail(f"the database is unreachable ({reason}); check that it runs and SHIPYARD_DATABASE_URL points at it")


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    raise typer.Exit(1)

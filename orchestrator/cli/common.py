"""What every command shares: the consoles, loading the deployment, failing with one clear line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape
from rich.table import Table

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


@contextmanager
def failing_on(*errors: type[Exception]) -> Iterator[None]:
    """Any of ``errors`` ends the command with its message in one ``error:`` line, not a traceback."""
    try:
        yield
    except errors as exc:
        _fail(str(exc))


def print_rows(rows: list[dict], *, as_json: bool, table: Callable[[list[dict]], Table], note: str = "") -> None:
    """``rows`` as JSON (``--json``, and nothing else: scripts parse it), or as ``table(rows)`` then ``note``."""
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    console.print(table(rows))
    if note:
        console.print(note)

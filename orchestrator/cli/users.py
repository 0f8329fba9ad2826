"""``shipyard users …``: the web app's accounts (add, list, role, password, API tokens, remove)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from orchestrator.cli.common import JSON_HELP, _ship, console, failing_on, print_rows
from orchestrator.domain import accounts
from orchestrator.domain.accounts import ROLES, AccountError

users_app = typer.Typer(help="Web app accounts: roles viewer < reviewer < operator < admin.", no_args_is_help=True)

LOGIN = typer.Argument(..., help="Login name")
PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from the first line of stdin")


def _read_password(from_stdin: bool) -> str:
    """From the first line of stdin (scripts, secrets), or asked twice on the terminal (never an argument: it
    would show in `ps`)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def add(
    name: str = LOGIN,
    role: str = typer.Option("viewer", "--role", help=f"One of: {', '.join(ROLES)}"),
    password_stdin: bool = PASSWORD_STDIN,
    token_only: bool = typer.Option(
        False, "--token-only", help="No password: the account uses API tokens (or --github) only"
    ),
    github: str = typer.Option("", "--github", help="GitHub login allowed to log in as this user through GitHub"),
) -> None:
    """Create an account (the password is asked for, or read from stdin)."""
    ship = _ship()
    with failing_on(AccountError):
        accounts.checked_name(name), accounts.checked_role(role)
        password = None if token_only else _read_password(password_stdin)
        accounts.add_user(ship.store, name, role, password, github_login=github or None)
    console.print(f"user {name} added as {role}")


def _users_table(rows: list[dict]) -> Table:
    table = Table("name", "role", "GitHub", "tokens", "disabled", "created")
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            r["github"] or "",
            str(r["tokens"]),
            "yes" if r["disabled"] else "",
            r["created_at"][:19],
        )
    return table


@users_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """Accounts with their roles and how many API tokens each holds."""
    print_rows(accounts.list_users(_ship().store), as_json=as_json, table=_users_table)


@users_app.command("role")
def role(name: str = LOGIN, new_role: str = typer.Argument(..., help=f"One of: {', '.join(ROLES)}")) -> None:
    """Change an account's role (takes effect on its next request)."""
    with failing_on(AccountError):
        accounts.set_role(_ship().store, name, new_role)
    console.print(f"user {name} is now {new_role}")


@users_app.command("passwd")
def passwd(name: str = LOGIN, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password; the account's browser sessions end."""
    ship = _ship()
    with failing_on(AccountError):
        accounts.set_password(ship.store, name, _read_password(password_stdin))
    console.print(f"password of {name} changed; its sessions are logged out")


@users_app.command("token")
def token(
    name: str = typer.Argument(..., help="Login name of the token's owner"),
    label: str = typer.Option("", help="What the token is for"),
) -> None:
    """Print a new API token for scripts (``Authorization: Bearer …``) once; only its hash is kept."""
    with failing_on(AccountError):
        value = accounts.issue_token(_ship().store, name, label)
    typer.echo(value)


@users_app.command("revoke-tokens")
def revoke_tokens(name: str = LOGIN) -> None:
    """Revoke every API token of an account."""
    with failing_on(AccountError):
        n = accounts.revoke_tokens(_ship().store, name)
    console.print(f"{n} token(s) of {name} revoked")


@users_app.command("remove")
def remove(name: str = LOGIN) -> None:
    """Delete an account, its sessions and its tokens (its recorded decisions keep its name)."""
    with failing_on(AccountError):
        accounts.remove_user(_ship().store, name)
    console.print(f"user {name} removed")

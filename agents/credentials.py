"""Provider API keys: read once at the edge from the environment or a secrets file, held as
``SecretStr`` (never printed, logged or put in events), handed only to the client library."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr


class SecretsError(ValueError):
    """An unreadable secrets file; the message names the file and line, never a value."""


class ProviderSecrets(BaseModel):
    model_config = ConfigDict(frozen=True)

    keys: dict[str, SecretStr] = {}
    """Variable name (``OPENAI_API_KEY``) → key."""

    def get(self, name: str | None) -> SecretStr | None:
        return self.keys.get(name) if name else None

    def __repr__(self) -> str:
        return f"ProviderSecrets(names={sorted(self.keys)})"

    __str__ = __repr__


def _parse_secrets_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SecretsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip().removeprefix("export ").strip()
        if not sep or not name.replace("_", "").isalnum():
            raise SecretsError(f"{path}: line {number}: expected NAME=value")
        values[name] = value.strip().strip("'\"")
    return values


def load_secrets(
    env: Mapping[str, str], secrets_file: Path | None = None, names: tuple[str, ...] = ()
) -> ProviderSecrets:
    """Keys named in ``names`` (and every ``*_API_KEY``) from ``env``; the secrets file wins."""
    values = {k: v for k, v in env.items() if k in names or k.endswith("_API_KEY")}
    if secrets_file is not None:
        values.update(_parse_secrets_file(secrets_file))
    return ProviderSecrets(keys={k: SecretStr(v) for k, v in values.items() if v})

"""The egress redactor: everything that leaves the orchestrator passes here.

Forge text (PR title and body, comments, check runs), commits (message and the files the agent
changed), web pages and API responses, log records and LangGraph checkpoints are scrubbed of the
deployment's secret values and of credential-shaped strings. One ``Redactor`` per process, built
from the settings (``egress_redactor``); each egress seam calls it, never the individual writers.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

# Shapes of well-known credentials, redacted even when we were not told the value.
_PATTERNS = [
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}\b"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9\-]{10,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}\b"),
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
    # Not a placeholder in help text: ``Bearer <token>``, ``Bearer $TOKEN``, ``Bearer ${TOKEN}``.
    re.compile(r"(?i)(authorization:\s*(?:bearer|token|basic)\s+)(?!<[^>\s]*>|\$\{?\w+\}?(?![^\s'\"]))[^\s'\"]+"),
    re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]+:)[^\s@/'\"]+(?=@)"),  # user:password@ in URLs
]
MASK = "[REDACTED]"
MIN_SECRET_LENGTH = 6
"""Shorter configured values are not masked: they would mask ordinary words and digits."""
SECRET_ENV_SUFFIXES = ("_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PRIVATE_KEY")
"""Environment variables whose values are secrets wherever they come from (provider keys, forge tokens)."""


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``[REDACTED]``.

    A configured value matches in any letter case and with its separators changed or dropped
    (``Canary Key 7f`` is found in ``canary-key-7f``, ``CANARY_KEY_7F`` and ``canarykey7f``): a
    branch name is the title lower-cased and slugged, and a hostile agent may spell a value any way."""

    def __init__(self, secrets: Iterable[str] = ()):
        values: set[str] = set()
        for raw in secrets:
            for value in _variants(raw):
                if len(value) >= MIN_SECRET_LENGTH:
                    values.add(value)
        self._values = sorted(values, key=len, reverse=True)
        loose = sorted({_loose(v) for v in self._values}, key=len, reverse=True)
        self._match = re.compile("|".join(loose), re.IGNORECASE) if loose else None
        self._match_bytes = re.compile("|".join(loose).encode(), re.IGNORECASE) if loose else None

    def text(self, value: str) -> str:
        if self._match is not None:
            value = self._match.sub(MASK, value)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, value)
        return value

    def bytes(self, value: bytes) -> bytes:
        """Redact file content: text as ``text()``; binary content has the configured values masked."""
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return self._match_bytes.sub(MASK.encode(), value) if self._match_bytes is not None else value
        redacted = self.text(decoded)
        return value if redacted == decoded else redacted.encode("utf-8")

    def name(self, value: str) -> str:
        """A file, directory or ref name with secrets masked, still usable as one (``REDACTED``)."""
        redacted = self.text(value)
        return value if redacted == value else redacted.replace(MASK, "REDACTED")

    def data(self, value: Any) -> Any:
        """Redact strings anywhere inside JSON-like data (dicts, lists, tuples, dataclasses)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, tuple):
            items = [self.data(v) for v in value]
            return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value)
        return value

    def _dataclass(self, value: Any) -> Any:
        changes = {
            f.name: self.data(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.init and hasattr(value, f.name)
        }
        try:
            return dataclasses.replace(value, **changes)
        except (TypeError, ValueError):  # a dataclass that cannot be rebuilt is kept as it is
            return value


_HTML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}


def _variants(raw: str) -> list[str]:
    """A configured value as written, without its surrounding quotes or whitespace, and as it
    reads once escaped into HTML or a JSON string (a page or a response must not spell it either)."""
    value = raw.strip()
    plain = [raw, value]
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        plain += [value[1:-1], value[1:-1].strip()]
    out = []
    for v in filter(None, plain):
        out += [
            v,
            "".join(_HTML_ESCAPES.get(c, c) for c in v),
            json.dumps(v, ensure_ascii=False)[1:-1],
            json.dumps(v)[1:-1],
        ]
    return list(dict.fromkeys(out))


def _loose(value: str) -> str:
    """A pattern for ``value`` whose letters and digits must appear in order with any separators
    (or none) between their runs; values with too few letters and digits match exactly."""
    runs = [r for r in re.split(r"[\W_]+", value) if r]
    if len(runs) < 2 or sum(len(r) for r in runs) < MIN_SECRET_LENGTH:
        return re.escape(value)
    return r"[\W_]*".join(re.escape(r) for r in runs)


def secrets_file_values(path: Path) -> list[str]:
    """Every value of a ``NAME=value`` secrets file, whether or not it looks like a credential."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    values = []
    for line in text.splitlines():
        stripped = line.strip()
        if "=" in stripped and not stripped.startswith("#"):
            values.append(stripped.split("=", 1)[1])
    return values


def secret_values(settings: Any, env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret this deployment knows, wherever it was configured (environment, ``shipyard.toml``,
    the secrets file): every ``SecretStr`` setting (webhook secret, admin password, OAuth client
    secret, forge tokens …) and files named by ``*_password_file``/``*_secret_file`` settings, the
    secrets file's values, and provider keys and forge tokens from the environment. Passwords in the
    database and broker URLs are masked by the ``user:password@`` shape wherever a URL is written, not
    as bare words: a deployment whose database password is ``shipyard`` (as in docker-compose.yml)
    must not mask its own name."""
    env = os.environ if env is None else env
    values = _setting_secrets(settings)
    values += [v for k, v in env.items() if k.upper().endswith(SECRET_ENV_SUFFIXES) and v]
    secrets_file = getattr(settings, "secrets_file", None)
    if secrets_file and Path(secrets_file).is_file():
        values += secrets_file_values(Path(secrets_file))
    return values


def _setting_secrets(settings: Any, depth: int = 0) -> list[str]:
    """``SecretStr`` values of a settings model (and of models inside it), and the contents of the
    files its ``*_password_file``/``*_secret_file``/``*_token_file`` fields name."""
    fields = getattr(type(settings), "model_fields", None)
    if not fields or depth > 3:
        return []
    values: list[str] = []
    for name in fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
        elif isinstance(value, Path) and name.endswith(("_password_file", "_secret_file", "_token_file")):
            try:
                values.append(value.read_text(encoding="utf-8", errors="replace").strip())
            except OSError:
                pass
        elif hasattr(type(value), "model_fields"):
            values += _setting_secrets(value, depth + 1)
    return [v for v in values if v]


@functools.lru_cache(maxsize=8)
def _cached(values: tuple[str, ...]) -> Redactor:
    return Redactor(values)


def egress_redactor(settings: Any) -> Redactor:
    """The deployment's redactor (reused while the configured secrets are unchanged)."""
    return _cached(tuple(secret_values(settings)))


_LOG_REDACTOR: list[Redactor] = []


def redact_logs(redactor: Redactor) -> None:
    """Redact every log record this process creates (message, arguments, traceback), whatever
    handler or formatter prints it: the record factory is the one seam all logging passes."""
    first = not _LOG_REDACTOR
    _LOG_REDACTOR[:] = [redactor]
    if not first:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(make_record(*args, **kwargs), _LOG_REDACTOR[0])

    logging.setLogRecordFactory(redacting_record)


def _redact_record(record: logging.LogRecord, redactor: Redactor) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a malformed call may raise anything; the handler reports it as it would have
        return record
    redacted = redactor.text(message)
    if redacted != message:  # untouched otherwise: formatters that read ``args`` (uvicorn's access log) keep them
        record.msg, record.args = redacted, None
    if record.exc_info and not record.exc_text:
        record.exc_text = redactor.text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)
    return record

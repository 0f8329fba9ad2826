"""Secrets never reach logs, events or PR bodies: everything the workflow writes passes here."""

from __future__ import annotations

import re
from typing import Any, Iterable

# Shapes of well-known credentials, redacted even when we were not told the value.
_PATTERNS = [
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}\b"),
    re.compile(r"\bsk-(?:ant-)?[A-Za-z0-9_\-]{20,}\b"),
    re.compile(r"\bxox[abpr]-[A-Za-z0-9\-]{10,}\b"),
    re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    re.compile(r"(?i)(authorization:\s*(?:bearer|token)\s+)[^\s'\"]+"),
]
MASK = "[REDACTED]"


class Redactor:
    """Replaces known secret values and credential-shaped strings with ``[REDACTED]``."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._values = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._values:
            value = value.replace(secret, MASK)
        for pattern in _PATTERNS:
            value = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + MASK, value)
        return value

    def data(self, value: Any) -> Any:
        """Redact strings anywhere inside JSON-like data."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value

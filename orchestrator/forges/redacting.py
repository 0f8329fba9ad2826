"""The forge's egress seam: every text a forge publishes passes the deployment's redactor.

Wraps any forge (local, GitHub): pull-request titles and bodies, comments, questions to the
author and check-run text are redacted before the forge sees them; everything else passes through.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from orchestrator.redaction import Redactor

TEXT_ARGUMENTS = {
    "open_pull_request": ("title", "body"),
    "update_pull_request": ("body",),
    "comment": ("body",),
    "ask_author": ("question",),
    "report_check": ("title", "summary"),
}
"""Forge method → the arguments it publishes."""


class RedactingForge:
    """``forge`` with every published text redacted (methods it lacks stay absent)."""

    def __init__(self, forge: Any, redactor: Redactor):
        self._forge = forge
        self._redactor = redactor

    @property
    def wrapped(self) -> Any:
        return self._forge

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._forge, name)
        fields = TEXT_ARGUMENTS.get(name)
        if fields is None or not callable(attr):
            return attr
        signature = inspect.signature(attr)

        @functools.wraps(attr)
        def publish(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            for field in fields:
                if isinstance(bound.arguments.get(field), str):
                    bound.arguments[field] = self._redactor.text(bound.arguments[field])
            return attr(*bound.args, **bound.kwargs)

        return publish

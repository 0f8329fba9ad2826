"""What the agent side tells a model (system prompts, tasks, notices, the answers to unusable
replies) as Jinja templates in this folder (``*.md.j2``), rendered from the state they speak of:
``render("steps_left", left=3)``. Tool results are the tools' own.

Ticket and repository text is untrusted: templates put it inside the ``untrusted`` fence
(``untrusted.md.j2``), which introduces it as data and defangs any fence inside it. A value a
template names but is not given is an error, never an empty string; nothing is HTML-escaped. A
template's last newline is not part of the text (a text that ends with a newline has an empty
last line)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined

if TYPE_CHECKING:
    from agents.task import CodingTask

_FENCE_TAG = re.compile(r"<(\s*/?\s*)(untrusted)", re.IGNORECASE)


def defang(text: str | None) -> str:
    """Untrusted text that can neither close the fence it is put in nor open another: runs of four
    or more backticks become three, and a ``<untrusted``/``</untrusted`` tag (spaced or in any
    case) loses its ``<``."""
    safe = re.sub(r"`{4,}", "```", text or "")
    return _FENCE_TAG.sub(lambda m: "\u2039" + m.group(1) + m.group(2), safe)


_TEMPLATES = Environment(
    loader=PackageLoader("agents", "prompts"),
    undefined=StrictUndefined,
    autoescape=False,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["defang"] = defang
_TEMPLATES.filters["repr"] = repr


def render(template: str, /, **values: Any) -> str:
    """The template ``<template>.md.j2`` rendered with ``values``."""
    return _TEMPLATES.get_template(f"{template}.md.j2").render(**values)


def code_system_prompt(instructions: str, repo_map: str) -> str:
    """The stable prefix of a coding attempt (cached by providers that support it)."""
    return render("code_system", instructions=instructions, repo_map=repo_map)


def code_task_prompt(task: CodingTask) -> str:
    """The task message of a coding attempt, rendered from the attempt's state: the ticket, the
    plan, what the workspace holds and why, and the environment's facts."""
    return render("code_task", task=task)

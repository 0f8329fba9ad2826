"""``shipyard demo --forge github-emulator``: the sample backlog against a LOCAL GitHub EMULATOR.

The sample repository is served by ``orchestrator.emulators.github`` on 127.0.0.1 (REST API and
git over HTTP, state in memory, gone when the demo ends); every ticket is an issue there, and
the worker reaches it through the real GitHub forge (PyGithub, git push over HTTPS with a
throw-away token held only in the worker's environment).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from orchestrator.emulators.github import State, serve_emulator
from orchestrator.emulators.github.asgi import _sha

FULL_NAME = "demo/textkit"


@dataclass
class DemoGitHub:
    """The running emulator and what the worker needs to reach it."""

    state: State
    env: dict[str, str] = field(default_factory=dict)

    def open_issue(self, title: str, body: str, labels: list[str]) -> int:
        number = self.state.next_number(FULL_NAME)
        self.state.issues[(FULL_NAME, number)] = {
            "id": next(self.state.ids),
            "title": title,
            "body": body,
            "state": "open",
            "labels": [{"id": i + 1, "name": name} for i, name in enumerate(sorted(set(labels) | {"shipyard"}))],
        }
        return number

    def report(self, console: Console) -> None:
        """The pull requests and check runs as the emulator holds them."""
        console.rule(f"on the local GitHub emulator ({self.state.base}, not GitHub)")
        for (_, number), pr in sorted(self.state.pulls.items()):
            head = _sha(self.state, FULL_NAME, pr["head"])
            checks = [c for c in self.state.check_runs if c["name"] == "shipyard/gate" and c["head_sha"] == head]
            verdicts = ", ".join(sorted({str(c["conclusion"]) for c in checks})) or "none"
            closes = pr["body"].splitlines()[0] if pr["body"] else ""
            console.print(
                f"PR #{number} [bold]{escape(pr['title'])}[/bold] ({pr['state']}) branch {escape(pr['head'])}: "
                f"{escape(closes)}; shipyard/gate check runs: {verdicts}",
                highlight=False,
            )
        for (_, number), issue in sorted(self.state.issues.items()):
            if "shipyard:needs-info" in {lbl["name"] for lbl in issue.get("labels", [])}:
                asked = [c["body"].splitlines()[0] for c in self.state.comments if c["issue"] == (FULL_NAME, number)]
                console.print(f"issue #{number} [bold]{escape(issue['title'])}[/bold] labelled shipyard:needs-info; "
                              f"asked: {escape(asked[-1] if asked else '-')}", highlight=False)  # fmt: skip


@contextmanager
def demo_github(data_dir: Path, seed: Path) -> Iterator[DemoGitHub]:
    """Serve ``seed`` as ``demo/textkit`` on the emulator; this process sees its settings while the block runs."""
    token = "ghs_demo" + secrets.token_hex(16)
    with serve_emulator(data_dir / "github-emulator", seed, FULL_NAME, token) as st:
        env = {
            "SHIPYARD_GITHUB_TOKEN": token,
            "SHIPYARD_GITHUB_API_URL": f"{st.base}/api/v3",
            "SHIPYARD_GITHUB_GIT_URL": st.base,
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield DemoGitHub(st, env)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

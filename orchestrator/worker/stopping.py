"""Stopping a running job early: cancellation, a lost lease, or the worker shutting down.

Checked between graph steps and before every sandbox command (the agent loop's commands go
through ``StoppableSandboxes``), so a job stops within one command of the request.
The exceptions are ``BaseException``s so that no ``except Exception`` in a node or tool
turns a stop into an ordinary error the agent could carry on after.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

SHUTTING_DOWN = threading.Event()
"""Set in a worker process when it was asked to stop (SIGTERM)."""


class JobStopped(BaseException):
    """The job must stop now; the subclass says why."""


class JobCancelled(JobStopped):
    pass


class LeaseLost(JobStopped):
    pass


class WorkerStopping(JobStopped):
    pass


def install_sigterm_handler() -> None:
    """In a worker pool process: SIGTERM stops the current job at its next check, and nothing else.

    The process exits when the worker's pool closes (it sends each child an end-of-work message).
    An idle child exiting at once would die holding the pool's task-queue lock (it waits for its
    next task with the lock taken), and the worker's main process would then wait for that lock
    forever at exit."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_sigterm(_signum, _frame) -> None:
        SHUTTING_DOWN.set()

    signal.signal(signal.SIGTERM, on_sigterm)


class StoppableSandboxes:
    """A sandbox provider whose sandboxes check ``check()`` before acquiring and before every command."""

    def __init__(self, provider: Any, check: Callable[[], None]):
        self._provider, self._check = provider, check
        self.name = provider.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)

    def acquire(self, spec: Any) -> Any:
        self._check()
        return _StoppableSandbox(self._provider.acquire(spec), self._check)


class _StoppableSandbox:
    def __init__(self, sandbox: Any, check: Callable[[], None]):
        self._sandbox, self._check = sandbox, check

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sandbox, name)

    def exec(self, command: str, **kwargs: Any) -> Any:
        self._check()
        return self._sandbox.exec(command, **kwargs)

    def run_setup(self, commands: Any) -> Any:
        self._check()
        return self._sandbox.run_setup(commands)

"""A warm pool of started Docker sandboxes, so acquiring one costs milliseconds.

Each pooled container has its own empty workspace directory and has never run a command.
``acquire`` hands one out and a background thread starts its replacement; a container is
never returned to the pool (``close`` destroys it), so no job sees another job's leftovers.
Only network policy ``none`` is pooled: ``setup`` sandboxes start on a network that is cut
later, which a pooled container could not undo for the next job.

Pooled containers carry ``shipyard.sandbox=1`` and ``shipyard.pooled=1`` but not the job's own
labels (labels are fixed when a container is created); the job's ``command_timeout_s`` and
``output_cap_bytes`` do apply (they are not container properties).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from docker.errors import DockerException

from sandboxes.base import SandboxError, SandboxSpec

if TYPE_CHECKING:
    from sandboxes.docker import DockerSandbox, DockerSandboxProvider

RETRY_AFTER_FAILURE_S = 5.0
"""Wait before the refill thread tries again after a container failed to start."""


def pool_key(spec: SandboxSpec) -> tuple:
    """The container-level part of a spec: sandboxes with equal keys are interchangeable."""
    return (spec.image, spec.network, spec.memory_mb, spec.cpus, spec.pids, spec.disk_mb)


class WarmPool:
    """Keeps ``size`` started sandboxes of one spec ready."""

    def __init__(self, provider: DockerSandboxProvider, spec: SandboxSpec, size: int) -> None:
        if spec.network != "none":
            raise SandboxError("warm pool: only network policy 'none' can be pooled")
        self.provider = provider
        self.spec = replace(spec, labels={**spec.labels, "shipyard.pooled": "1"})
        self.size = size
        self.last_error: str | None = None
        """Why the last background start failed (shown by ``acquire`` if the pool is empty)."""
        self._ready: deque[DockerSandbox] = deque()
        self._starting = 0
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._refill_forever, name=f"warm-pool-{spec.image}", daemon=True)
        self._thread.start()

    @property
    def ready_count(self) -> int:
        with self._cond:
            return len(self._ready)

    def acquire(self, spec: SandboxSpec | None = None) -> DockerSandbox:
        """A started sandbox: a warm one if any is ready (checked alive), else a cold start."""
        wanted = spec or self.spec
        while True:
            with self._cond:
                if self._closed:
                    raise SandboxError("warm pool is closed")
                box = self._ready.popleft() if self._ready else None
                self._cond.notify_all()
            if box is None:
                break
            if _is_running(box):
                box.spec = replace(wanted, labels=self.spec.labels)
                return box
            box.close()
        # Empty pool: do not wait for the refill, start one for this caller now.
        return self.provider.start(wanted)

    def wait_ready(self, count: int | None = None, timeout_s: float = 60.0) -> bool:
        """Block until ``count`` (default: all) sandboxes are ready; False on timeout."""
        want = self.size if count is None else count
        with self._cond:
            return self._cond.wait_for(lambda: len(self._ready) >= want or self._closed, timeout_s)

    def close(self) -> None:
        """Stop refilling and destroy every idle sandbox."""
        with self._cond:
            self._closed = True
            idle = list(self._ready)
            self._ready.clear()
            self._cond.notify_all()
        for box in idle:
            box.close()
        self._thread.join(timeout=30)

    def _refill_forever(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or len(self._ready) + self._starting < self.size)
                if self._closed:
                    return
                self._starting += 1
            box, failed = None, False
            try:
                box = self.provider.start(self.spec)
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - the refill thread must outlive any one failure
                self.last_error = str(exc)
                failed = True
            with self._cond:
                self._starting -= 1
                if box is not None and not self._closed:
                    self._ready.append(box)
                    box = None
                self._cond.notify_all()
                if failed:
                    # Back off instead of hammering a broken engine or a missing image.
                    self._cond.wait_for(lambda: self._closed, RETRY_AFTER_FAILURE_S)
            if box is not None:
                box.close()


def _is_running(box: DockerSandbox) -> bool:
    try:
        box.container.reload()
    except DockerException:
        return False
    return box.container.status == "running"

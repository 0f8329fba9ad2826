"""A Celery worker in a separate process group, for commands that drive a backlog to its end
(``shipyard demo``, ``shipyard eval``): started with the deployment's settings, stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from orchestrator.settings import Settings


def start_worker(settings: Settings, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``shipyard worker --concurrency 2`` on ``settings``' data directory; its log is ``worker.log`` there."""
    log = open(settings.data_dir / "worker.log", "wb")
    full = {**os.environ, **(env or {}), "SHIPYARD_DATA_DIR": str(settings.data_dir),
            "SHIPYARD_SANDBOX_BACKEND": settings.sandbox_backend}  # fmt: skip
    cmd = [sys.executable, "-m", "orchestrator", "worker", "--concurrency", "2"]
    return subprocess.Popen(cmd, env=full, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(worker: subprocess.Popen) -> None:
    """SIGTERM to the worker's process group; SIGKILL if it has not exited within 30 s."""
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


@contextmanager
def poller_alongside(forge: str | None, interval: float) -> Iterator[None]:
    """``shipyard poll <forge>`` in a child process while the block runs (nothing without ``forge``).

    A child, not a thread: the Celery worker forks its pool, and no client may cross a fork."""
    if forge is None:
        yield
        return
    cmd = [sys.executable, "-m", "orchestrator", "poll", forge, "--interval", str(interval)]
    child = subprocess.Popen(cmd)
    try:
        yield
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

"""Drive the real pipeline: a store, a Celery worker in a separate process, real sandboxes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.deployment import Shipyard
from orchestrator.domain.backlog import add_ticket, register_repository
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from workflows.gitops import run_git

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "orchestrator" / "demo" / "assets"


def settings_env(settings: Settings, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a worker process needs to see the same deployment as the test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    for name in settings.model_fields_set | {"data_dir", "sandbox_backend", "lease_seconds"}:
        value = getattr(settings, name)
        if value is not None:
            env[f"SHIPYARD_{name.upper()}"] = (
                value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
            )
    env["PYTHONPATH"] = str(ROOT)
    return env | (extra or {})


class Worker:
    """``shipyard worker`` in its own process (and process group), logging to a file."""

    def __init__(self, settings: Settings, concurrency: int = 2, env: dict[str, str] | None = None):
        self.log_path = settings.data_dir / f"worker-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")
        cmd = [sys.executable, "-m", "orchestrator", "worker", "--concurrency", str(concurrency), "--loglevel", "INFO"]
        self.proc = subprocess.Popen(
            cmd,
            env=settings_env(settings, env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children): a crash, not a shutdown."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@contextmanager
def running_worker(settings: Settings, concurrency: int = 2, env: dict[str, str] | None = None) -> Iterator[Worker]:
    worker = Worker(settings, concurrency, env)
    try:
        yield worker
    finally:
        worker.stop()


def wait_for_job(
    ship: Shipyard, job_id: int, states: set[str], timeout: float = 240, worker: Worker | None = None
) -> dict:
    """Poll the store until the job reaches one of ``states``; fail with its timeline otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
        if detail and detail["state"] in states:
            return detail
        if worker is not None and worker.proc.poll() is not None:
            raise AssertionError(f"worker exited ({worker.proc.returncode}):\n{worker.log()}")
        time.sleep(0.3)
    detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id) or {}
    timeline = "\n".join(f"{e['kind']}: {e['message'][:300]}" for e in detail.get("events", []))
    tail = worker.log() if worker else ""
    raise AssertionError(f"job {job_id} is {detail.get('state')} after {timeout}s, wanted {states}\n{timeline}\n{tail}")


def wait_for_attempts(
    ship: Shipyard, job_id: int, attempts: int, timeout: float = 240, worker: Worker | None = None
) -> dict:
    """After a decision: poll until the job settles having made ``attempts`` attempts, or settles
    other than awaiting review. Right after the decision the job still shows the state it had before
    the worker picked the decision up; fail with its reason past ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(1.0, deadline - time.monotonic())
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed", "merged"}, left, worker)
        if job["attempts"] >= attempts or job["state"] != "awaiting_review":
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} made {job['attempts']} attempt(s) in {timeout:.0f}s, wanted {attempts}")
        time.sleep(0.3)


def sample_repository(path: Path, source: Path = ASSETS / "sample_repo") -> Path:
    shutil.copytree(source, path)
    run_git(["init", "-q", "-b", "main", str(path)])
    run_git(["add", "-A"], cwd=path)
    run_git(["commit", "-q", "-m", "initial"], cwd=path)
    return path


def queue_ticket(ship: Shipyard, repo_name: str, title: str, body: str, cassette: Path | None) -> int:
    ticket = add_ticket(ship.store, repo=repo_name, title=title, body=body, labels=["shipyard"], cassette=cassette)
    job_id, _ = ship.enqueue_ticket(ticket.id)
    return job_id


def register(ship: Shipyard, repo: Path, name: str) -> None:
    register_repository(ship.store, repo, name=name)

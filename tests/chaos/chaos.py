"""A bounded chaos run: real worker process groups killed with SIGKILL at random moments, a
broker that loses its messages, a corrupt cassette, a lost message, duplicate triggers; then
an audit of what a user would see."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from orchestrator.deployment import Shipyard
from orchestrator.domain import jobs
from orchestrator.domain.backlog import add_ticket
from orchestrator.housekeeping.forge_refs import sweep_job_refs
from orchestrator.store.tables import FINAL_STATES, Job, JobState, PullRequest, Ticket, utcnow
from orchestrator.worker.celery_app import MAX_RECOVERIES, child_pids
from orchestrator.worker.watchdog import EXIT_WEDGED
from tests.pipeline.harness import ASSETS, Worker
from workflows.gitops import run_git

CASSETTE = ASSETS / "cassettes" / "slugify-dashes.yml"
FINAL = {s.value for s in FINAL_STATES} | {s.value for s in JobState if s.is_waiting_for_human}
"""Settled: a final outcome, or owned by a pending human decision (a pull request awaiting review)."""


class RedisServer:
    """A redis-server of the test's own on its own port, with no persistence: a kill loses every message."""

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir = port, workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        import redis

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not answer within 20 s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class ChaosReport:
    kills: dict[str, int] = field(default_factory=lambda: {"group": 0, "busy_child": 0, "main": 0})
    """``busy_child``: a pool child of a worker whose pool is up, killed while it works a job."""
    kill_phase_s: float = 0.0
    redis_restarts: int = 0
    wedged_exits: int = 0
    """Workers that stopped themselves because their pool left a received job unstarted (exit status 75)."""
    settle_s: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)
    refs_swept: int = 0
    """Job refs of final jobs that only the periodic sweep removed (their worker died before it could)."""


def kill_plan(kills: int, rng: random.Random) -> list[str]:
    """Half the kills a busy pool child, a quarter each the whole group and the main process, in random order."""
    plan = ["busy_child"] * ((kills + 1) // 2) + ["group"] * (kills // 4)
    plan += ["main"] * (kills - len(plan))
    rng.shuffle(plan)
    return plan


class Chaos:
    def __init__(self, ship: Shipyard, repo: Path, seed: int, redis: RedisServer | None = None):
        self.ship, self.repo, self.redis = ship, repo, redis
        self.rng = random.Random(seed)
        self.worker: Worker | None = None
        self.workers: list[Worker] = []
        self.report = ChaosReport()
        self.corrupt_job = self.lost_job = self.duplicated_ticket = 0

    # -- workload -------------------------------------------------------------------------
    def queue_workload(self, normal: int, corrupt_cassette: Path) -> None:
        for i in range(normal):
            self._enqueue(f"slugify leaves repeated dashes ({i})", CASSETTE)
        # Valid when the ticket is added (a corrupt one is refused then), corrupted before the job runs.
        corrupt_cassette.write_bytes(CASSETTE.read_bytes())
        ticket = self._ticket("corrupt cassette", corrupt_cassette)
        corrupt_cassette.write_bytes(b"\xff\xfe not utf-8 \xc3\x28\n")
        self.corrupt_job = self.ship.enqueue_ticket(ticket.id)[0]
        self.lost_job = self._lost_message()
        self.duplicated_ticket = self._duplicate_triggers(20)

    def _ticket(self, title: str, cassette: Path = CASSETTE):
        """A labelled ticket of the ``textkit`` repository whose job replays ``cassette``."""
        return add_ticket(
            self.ship.store, repo="textkit", title=title, body="x", labels=["shipyard"], cassette=cassette
        )

    def _enqueue(self, title: str, cassette: Path) -> int:
        return self.ship.enqueue_ticket(self._ticket(title, cassette).id)[0]

    def _lost_message(self) -> int:
        """A job whose message the broker never got (created, not sent; its message is long overdue)."""
        ticket = self._ticket("lost message")
        job_id, _ = jobs.create_job(self.ship.store, ticket.id)
        with self.ship.store.session() as s:
            s.execute(update(Job).where(Job.id == job_id).values(dispatched_at=utcnow() - timedelta(hours=1)))
        return job_id

    def _duplicate_triggers(self, n: int) -> int:
        """The same trigger arriving ``n`` times at once (as duplicate webhook deliveries do)."""
        ticket = self._ticket("duplicated trigger")
        barrier = threading.Barrier(n)

        def trigger(_):
            barrier.wait()
            return self.ship.enqueue_ticket(ticket.id)

        with ThreadPoolExecutor(n) as pool:
            results = list(pool.map(trigger, range(n)))
        assert sum(created for _, created in results) == 1, results
        return ticket.id

    # -- faults ---------------------------------------------------------------------------
    def ensure_worker(self) -> Worker:
        if self.worker is None or self.worker.proc.poll() is not None:
            self.worker = Worker(self.ship.settings, concurrency=2)
            self.workers.append(self.worker)
        return self.worker

    def kill_randomly(self, kills: int, redis_restart_at: int | None = None, cap_s: float = 300) -> None:
        """``kills`` SIGKILLs at random moments 0.5–2.5 s apart (within ``cap_s``): half of them a pool
        child in the middle of a job, the others the whole group or the main process. Whenever fewer
        than two jobs wait (in the first two thirds), two more are queued, so that the kills land on
        work in flight; later, a pool-child kill with nothing waiting queues them too (else it
        would wait for work that never comes)."""
        deadline = time.monotonic() + cap_s
        plan = kill_plan(kills, self.rng)
        done = wave = 0
        while done < kills and time.monotonic() < deadline:
            waiting = self.waiting()
            if (done < kills * 2 // 3 and waiting < 2) or (plan[done] == "busy_child" and waiting == 0):
                wave += 1
                for i in range(2):
                    self._enqueue(f"slugify leaves repeated dashes (wave {wave}, {i})", CASSETTE)
            worker = self.ensure_worker()
            time.sleep(self.rng.uniform(0.5, 2.5))  # a random moment in the job's (or the worker's) life
            if worker.proc.poll() is not None:
                continue
            how = plan[done]
            if how == "busy_child":
                victim = self.busy_child(worker, until=min(deadline, time.monotonic() + 10))
                if victim is None:
                    continue
                os.kill(victim, signal.SIGKILL)
            elif how == "main":
                os.kill(worker.proc.pid, signal.SIGKILL)  # the pool children die with it (parent-death signal)
                worker.proc.wait()
            else:
                worker.kill()
            self.report.kills[how] += 1
            done += 1
            if redis_restart_at is not None and done == redis_restart_at and self.redis is not None:
                self.redis.kill()  # every queued message is gone with it
                self.redis.start()
                self.report.redis_restarts += 1

    def busy_child(self, worker: Worker, until: float) -> int | None:
        """A pool child of ``worker`` that holds a running job's lease (waiting until ``until`` for one)."""
        while time.monotonic() < until and worker.proc.poll() is None:
            children = set(child_pids(worker.proc.pid))
            with self.ship.store.session() as s:
                owners = s.scalars(
                    select(Job.lease_owner).where(Job.state == "running", Job.lease_owner.is_not(None))
                ).all()
            busy = sorted(pid for pid in (int(o.split(":")[1]) for o in owners) if pid in children)
            if busy:
                return self.rng.choice(busy)
            time.sleep(0.1)
        return None

    def waiting(self) -> int:
        with self.ship.store.session() as s:
            return s.scalar(select(func.count()).select_from(Job).where(Job.state == "queued")) or 0

    # -- settle and audit -----------------------------------------------------------------
    def all_final(self) -> bool:
        with self.ship.store.session() as s:
            return not s.scalar(select(func.count()).select_from(Job).where(Job.state.not_in(FINAL)))

    def settle(self, timeout: float = 240) -> None:
        """Run a worker until every job has settled and its sweep has removed the killed workers'
        sandbox directories."""
        started = time.monotonic()
        while not self.all_final() or self.sandbox_dirs():
            worker = self.ensure_worker()
            if time.monotonic() - started > timeout:
                raise AssertionError(
                    f"not settled {timeout:.0f} s after the last fault: jobs {self.non_final()}, "
                    f"sandbox directories {self.sandbox_dirs()}\n{worker.log()}"
                )
            time.sleep(0.5)
        self.report.settle_s = time.monotonic() - started

    def sandbox_dirs(self) -> list[str]:
        """Whatever is left in the sandbox root (sandboxes, trial runs, disk images) and every
        filesystem still mounted under the data directory."""
        root = self.ship.settings.data_dir / "sandboxes"
        left = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        marker = f"{self.ship.settings.data_dir}/"
        mounted = (line.split()[1] for line in Path("/proc/mounts").read_text().splitlines())
        mounts = [m for m in mounted if f"{m}/".startswith(marker)]
        return left + [f"mounted: {m}" for m in mounts]

    def stop_workers(self) -> None:
        for worker in self.workers:
            if worker.proc.poll() == EXIT_WEDGED:
                self.report.wedged_exits += 1
                print(f"wedged worker {worker.proc.pid}:\n{worker.log()[-3000:]}")
            worker.stop()

    def non_final(self) -> list[tuple[int, str, str | None]]:
        with self.ship.store.session() as s:
            return [(j.id, j.state, j.lease_owner) for j in s.scalars(select(Job).where(Job.state.not_in(FINAL)))]

    def audit(self) -> list[str]:
        problems: list[str] = []
        with self.ship.store.session() as s:
            all_jobs = s.scalars(select(Job)).all()
            tickets = s.scalars(select(Ticket)).all()
            prs = s.scalars(select(PullRequest)).all()
            for ticket in tickets:
                if len(ticket.jobs) != 1 or ticket.jobs[0].state not in FINAL:
                    problems.append(
                        f"ticket {ticket.id} ({ticket.title}): jobs {[(j.id, j.state) for j in ticket.jobs]}"
                    )
            self.report.outcomes = {}
            for job in all_jobs:
                self.report.outcomes[job.state] = self.report.outcomes.get(job.state, 0) + 1
            corrupt = s.get(Job, self.corrupt_job)
            # Its own reason, or — when the kills hit it three times before it read the cassette — the
            # recoveries' (a clear reason too; the cassette's alone is test_durable_queue's).
            reason = (corrupt.reason or "").lower()
            said = "utf-8" in reason or (corrupt.recoveries > MAX_RECOVERIES and "worker stopped" in reason)
            if corrupt.state not in {"failed", "blocked"} or not said:
                problems.append(f"corrupt cassette job {corrupt.id}: {corrupt.state}: {corrupt.reason}")
            branches_of_prs = sorted(p.branch for p in prs)
        if len(set(branches_of_prs)) != len(branches_of_prs):
            problems.append(f"duplicate pull request branches: {branches_of_prs}")
        branches = sorted(
            run_git(["branch", "--list", "shipyard/*", "--format=%(refname:short)"], cwd=self.repo).split()
        )
        if not set(branches) <= set(branches_of_prs) | set():
            problems.append(f"branches without a pull request: {sorted(set(branches) - set(branches_of_prs))}")
        if len(branches) != len(set(branches)):
            problems.append(f"duplicate branches: {branches}")
        problems += self._leaked_processes()
        problems += [f"leaked sandbox directory {name}" for name in self.sandbox_dirs()]
        problems += self._job_refs()
        return problems

    def _job_refs(self) -> list[str]:
        """A job waiting for a person keeps its last commit on the forge (any host resumes it); after
        one round of the periodic sweep, no finished job's ref is left."""
        self.report.refs_swept = len(sweep_job_refs(self.ship.settings, self.ship.store))
        listing = run_git(["for-each-ref", "--format=%(refname) %(objectname)", "refs/shipyard/jobs"], cwd=self.repo)
        refs = dict(line.split() for line in listing.splitlines())
        problems = []
        with self.ship.store.session() as s:
            for job in s.scalars(select(Job)):
                saved = refs.pop(f"refs/shipyard/jobs/{job.id}", None)
                if job.job_state.is_final and saved:
                    problems.append(f"job {job.id} is {job.state} and its ref is still on the forge")
                elif not job.job_state.is_final and job.head_sha and saved != job.head_sha:
                    problems.append(f"job {job.id} waits at {job.head_sha[:10]} but the forge holds {saved}")
        return problems + [f"job ref of no job: {ref}" for ref in refs]

    def _leaked_processes(self, timeout: float = 20) -> list[str]:
        """Sandbox processes of this deployment still running after every worker stopped."""
        marker = str(self.ship.settings.data_dir)
        deadline = time.monotonic() + timeout
        while True:
            leaked = []
            for entry in os.listdir("/proc"):
                if entry.isdigit() and int(entry) != os.getpid():
                    try:
                        cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                    except OSError:
                        continue
                    if marker in cmd and "pytest" not in cmd:
                        leaked.append(f"pid {entry}: {cmd[:200]}")
            if not leaked or time.monotonic() > deadline:
                return [f"leaked process {p}" for p in leaked]
            time.sleep(0.2)

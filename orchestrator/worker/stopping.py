"""Stopping a running job early: cancellation, a lost lease, or the worker shutting down.

Checked between graph steps and before every sandbox command (the agent loop's commands go
through ``StoppableSandboxes``), so a job stops within one command of the request.
The exceptions are ``BaseException``s so that no ``except Exception`` in a node or tool
turns a stop into an ordinary error the agent could carry on after.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from billiard import pool as billiard_pool
from billiard.reduction import ForkingPickler
from celery.concurrency import asynpool, prefork

log = logging.getLogger("shipyard.queue")

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


class _StartsStoppable:
    """A pool child that has the handler above from its start, not from its first job.

    billiard sets SIGTERM to "exit now" after the pool's initializer (so no ``worker_process_init``
    receiver can keep its own handler): a child that had not yet run a job (a fresh pool, or a child
    respawned after another died) exited on SIGTERM holding the task-queue lock, and the worker's
    main process then waited for that lock at exit for ever. SIGTERM is held back while billiard
    sets up the child, then delivered to this handler."""

    def after_fork(self) -> None:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            super().after_fork()
            install_sigterm_handler()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _EventLoopWorkerProcess(_StartsStoppable, asynpool.Worker):
    pass


class _BlockingWorkerProcess(_StartsStoppable, billiard_pool.Worker):
    pass


class _EventLoopPool(asynpool.AsynPool):
    Worker = _EventLoopWorkerProcess


IDLE_CHILD_EXIT_S = 2.0
"""How long, once the pool's jobs are done, an idle pool child may take to read its end-of-work message."""


def _put_end_of_results(outqueue) -> None:
    """Put the result handler's end-of-results message on the children's shared result queue.

    Children write results under the queue's write lock; a child killed (SIGKILL, the OOM killer)
    while it sent one holds that lock for ever, and billiard's own put would wait on it for ever at
    shutdown. After a bounded wait the message is written without the lock: the dead child's last
    write is whole or absent (a pipe write of a small message is atomic), and no live child is writing
    one at shutdown that this could interleave with for longer than the wait."""
    payload = ForkingPickler.dumps(None)
    if outqueue._wlock.acquire(timeout=IDLE_CHILD_EXIT_S):
        try:
            outqueue._writer.send_bytes(payload)
        finally:
            outqueue._wlock.release()
        return
    log.warning("the pool's result queue is locked by a pool child that died writing to it: ending without it")
    outqueue._writer.send_bytes(payload)


class _TaskHandler(billiard_pool.TaskHandler):
    def tell_others(self) -> None:
        try:
            _put_end_of_results(self.outqueue)
            for _ in self.pool:
                self.put(None)  # one end-of-work message per child (the task queue takes no write lock)
        except OSError:
            log.debug("pool task handler: the queues were closed while it sent the end-of-work messages")


class _BlockingPool(billiard_pool.Pool):
    """billiard's pool whose children share one task queue and one result queue behind locks, closed
    without waiting on either lock for ever.

    A child killed (SIGKILL, the OOM killer) while it waited for a task dies holding the task queue's
    read lock: no sibling can read a task or its end-of-work message again, and billiard waits at exit
    for each child to leave and then for the lock itself. At shutdown those idle children are ended
    (they hold no job) and the lock is given up on. A child killed while it sent a result holds the
    result queue's write lock: the end-of-results message goes in without it (``_put_end_of_results``)."""

    Worker = _BlockingWorkerProcess
    TaskHandler = _TaskHandler

    @classmethod
    def _set_result_sentinel(cls, outqueue, pool) -> None:
        _put_end_of_results(outqueue)

    def join(self) -> None:
        billiard_pool.stop_if_not_current(self._worker_handler)
        self._stop_task_handler(self._task_handler)
        billiard_pool.stop_if_not_current(self._result_handler)  # returns once no job is left in the cache
        deadline = time.monotonic() + IDLE_CHILD_EXIT_S
        for process in self._pool:
            if process._popen is None:
                continue
            process.join(timeout=max(0.0, deadline - time.monotonic()))
            while process.exitcode is None and process.pid in self._busy_pids():
                process.join(timeout=0.5)
            if process.exitcode is None:
                log.warning("pool child %d did not leave when the pool closed (its task queue is locked): ended",
                            process.pid)  # fmt: skip
                os.kill(process.pid, signal.SIGKILL)
                process.join()

    def _busy_pids(self) -> set[int]:
        return {pid for job in list(self._cache.values()) if (pid := getattr(job, "_worker_pid", None))}

    @staticmethod
    def _help_stuff_finish(inqueue, task_handler, _pool) -> None:
        if not inqueue._rlock.acquire(timeout=IDLE_CHILD_EXIT_S):
            return  # held by a child that died waiting for a task
        while task_handler.is_alive() and inqueue._reader.poll():
            inqueue._reader.recv()


class StoppableTaskPool(prefork.TaskPool):
    """Celery's prefork pool (``worker_pool``) whose children all stop on SIGTERM as a job does."""

    Pool = _EventLoopPool  # brokers with an event loop (Redis)
    BlockingPool = _BlockingPool  # the others (the embedded filesystem transport)


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

"""Run one command as host processes with a wall-clock timeout and capped output.

Used by the bwrap and plain-subprocess backends. The command gets its own session (so its
whole process group can be killed) and, where available, a cgroup (so processes that left
the group with ``setsid`` are killed too). Output is read from the pipe in chunks into a
``CappedOutput``; memory use stays at the cap however much the command prints.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence

from sandboxes.base import ExecResult
from sandboxes.cgroup_limits import SandboxCgroup
from sandboxes.output_cap import CappedOutput

_READ_CHUNK = 64 * 1024
_DRAIN_WAIT_S = 0.05
"""After the command exits, how long a quiet pipe is waited on before reading stops."""
_DRAIN_MAX_S = 0.5
"""After the command exits, the longest a background child that keeps printing is read from."""


def _join_cgroup_argv(cgroup: SandboxCgroup | None, argv: Sequence[str]) -> list[str]:
    """Prefix ``argv`` so the process joins the cgroup before it execs (no fork can escape)."""
    if cgroup is None:
        return list(argv)
    writes = " && ".join(f'echo $$ > "{path}"' for path in cgroup.procs_files)
    return ["/bin/sh", "-c", f'{writes} && exec "$@"', "sandbox-exec", *argv]


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_tree(proc: subprocess.Popen, cgroup: SandboxCgroup | None) -> None:
    _kill_group(proc.pid)
    if cgroup is not None:
        cgroup.kill_all()


def _exit_code(returncode: int) -> int:
    # Shell convention for "killed by signal N", so the number means the same on every backend.
    return 128 - returncode if returncode < 0 else returncode


def run_capped_process(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: str,
    timeout_s: float,
    cap_bytes: int,
    cgroup: SandboxCgroup | None,
) -> ExecResult:
    """Run ``argv`` (in ``cgroup`` when given); never raises for a failing, hanging or chatty command."""
    started = time.monotonic()
    output = CappedOutput(cap_bytes)
    oom_before = cgroup.oom_kills() if cgroup else 0
    try:
        proc = subprocess.Popen(
            _join_cgroup_argv(cgroup, argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        return ExecResult(exit_code=127, output=f"could not start the command: {exc}", duration_s=0.0)
    deadline = started + timeout_s
    timed_out = _pump_output(proc, output, deadline)
    if not timed_out:
        try:
            # EOF does not mean exit: the command may have closed its output and kept running.
            proc.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            timed_out = True
    if timed_out:
        _kill_tree(proc, cgroup)
    returncode = proc.wait()
    # An exec is one process tree that ends with its command (as under bwrap's pid namespace).
    _kill_group(proc.pid)
    oom = bool(cgroup and cgroup.oom_kills() > oom_before)
    return ExecResult(
        exit_code=-1 if (timed_out or oom) else _exit_code(returncode),
        output=output.text(),
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
        oom_killed=oom,
        elided_bytes=output.elided_bytes,
    )


def _pump_output(proc: subprocess.Popen, output: CappedOutput, deadline: float) -> bool:
    """Feed the pipe into ``output`` until EOF or the command has exited; True on timeout."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        exited_at: float | None = None
        try:
            while True:
                now = time.monotonic()
                remaining = deadline - now
                if remaining <= 0:
                    return True
                if exited_at is None and proc.poll() is not None:
                    exited_at = now
                exited = exited_at is not None
                if exited and now - exited_at > _DRAIN_MAX_S:
                    return False
                ready = sel.select(min(remaining, _DRAIN_WAIT_S if exited else 0.5))
                if not ready:
                    if exited:
                        # The command is done; a background child may keep the pipe open.
                        return False
                    continue
                chunk = _read_available(fd)
                if chunk is None:
                    continue
                if not chunk:
                    return False
                output.feed(chunk)
        finally:
            proc.stdout.close()


def _read_available(fd: int) -> bytes | None:
    try:
        return os.read(fd, _READ_CHUNK)
    except BlockingIOError:
        return None

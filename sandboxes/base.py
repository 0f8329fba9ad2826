"""The one interface every sandbox backend implements.

A sandbox is where untrusted code runs: the model's commands and the repository's own
tests. It owns a workspace directory on the orchestrator's host (``host_workspace``), which
the backend exposes inside the sandbox at ``workdir``. The orchestrator fills the workspace
(git checkout) *after* acquiring the sandbox and reads results back through
``read_file``; the git metadata never enters the workspace, so nothing in the sandbox can
plant hooks or read remotes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

NetworkPolicy = Literal["none", "setup"]


class SandboxError(RuntimeError):
    """A sandbox could not be started or used; the message says why, for a human."""


class DiskQuotaExceeded(SandboxError):
    """A command filled the sandbox's disk quota: the sandbox cannot go on (the message names the quota)."""


@dataclass(frozen=True)
class ExecResult:
    """What one command did inside a sandbox."""

    exit_code: int
    """Process exit status; -1 when the command was killed (timeout, OOM)."""
    output: str
    """Combined stdout+stderr, capped: head and tail kept, the middle elided."""
    duration_s: float
    timed_out: bool = False
    """The wall-clock timeout fired and the whole process tree was killed."""
    oom_killed: bool = False
    """The sandbox's memory limit killed the command."""
    elided_bytes: int = 0
    """How many bytes of output were dropped from the middle by the cap."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out and not self.oom_killed

    def describe_failure(self) -> str:
        """A one-line reason a human can act on, for a command that did not succeed."""
        if self.timed_out:
            return f"timed out after {self.duration_s:.0f}s"
        if self.oom_killed:
            return "killed: out of memory (sandbox memory limit)"
        return f"exited with status {self.exit_code}"


def resolve_cwd(workdir: str, cwd: str | None) -> str:
    """A command's working directory inside the sandbox: relative paths are under ``workdir``."""
    if not cwd:
        return workdir
    return cwd if cwd.startswith("/") else f"{workdir}/{cwd}"


@dataclass(frozen=True)
class SandboxSpec:
    """What a job asks of a sandbox. Limits are on by default."""

    image: str = "shipyard-sandbox:latest"
    """Container image (Docker backend); ignored by the local backend."""
    network: NetworkPolicy = "none"
    """``none``: never any network. ``setup``: network only while ``run_setup`` runs."""
    memory_mb: int = 2048
    cpus: float = 1.0
    pids: int = 256
    disk_mb: int = 4096
    """Disk quota: everything the sandbox writes to disk (workspace, home) fits in this many MB."""
    command_timeout_s: float = 600.0
    """Default wall-clock limit for one ``exec``."""
    output_cap_bytes: int = 256 * 1024
    """Combined output kept per ``exec`` (head + tail)."""
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels (job id) so leaked sandboxes can be found and reaped."""


@dataclass(frozen=True)
class EnvironmentReport:
    """How a sandbox's repository environment came to be, for timelines and ``shipyard doctor``."""

    key: str
    cached: bool
    """Started from the cache (setup was not run again)."""
    seconds: float
    """Wall-clock time of setup (built) or of the restore (cached)."""
    built_s: float
    """How long building it took the first time."""
    files: list[str] = field(default_factory=list)
    """The dependency files the key covers."""
    kept: bool = True
    """Kept in the cache for later sandboxes."""

    def describe(self) -> str:
        if self.cached:
            return (
                f"environment {self.key[:12]} reused from the cache in {self.seconds:.2f}s "
                f"(setup took {self.built_s:.1f}s when it was built)"
            )
        kept = "cached for the next job" if self.kept else "not cached"
        return f"environment {self.key[:12]} built by setup in {self.seconds:.1f}s, {kept}"


@dataclass(frozen=True)
class SideDirs:
    """Two directories outside the workspace that the orchestrator shares with one sandbox.

    The gate puts its own pytest plugin in ``tools`` (read-only inside: nothing in the sandbox
    can replace it) and has it write its record of test outcomes to ``records``."""

    host_tools: Path
    """Written by the orchestrator; mounted read-only at ``tools`` (plain backend: the same path)."""
    tools: str
    host_records: Path
    """Written by commands in the sandbox at ``records``; read back by the orchestrator."""
    records: str


@runtime_checkable
class Sandbox(Protocol):
    """A running sandbox. Backends: ``sandboxes.docker``, ``sandboxes.local``."""

    id: str
    backend: str
    """Short backend name shown to users: ``docker``, ``bwrap``, ``local``."""
    isolated: bool
    """False only for the plain-subprocess backend; jobs say so on every run."""
    host_workspace: Path
    """The workspace directory on the orchestrator's host."""
    workdir: str
    """The same directory as seen by commands inside the sandbox."""
    side_dirs: SideDirs
    """Directories outside the workspace for the gate's plugin and its record."""
    environment_report: EnvironmentReport | None
    """How the repository's environment came to be in the last ``run_setup`` (None before it,
    or when there was no setup command); see ``sandboxes.environments``."""

    def exec(
        self,
        command: str,
        *,
        timeout_s: float | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run a shell command (``bash -lc``) in the workspace; never raises for a failing command.

        Raises ``DiskQuotaExceeded`` when the command left the sandbox's disk quota full."""
        ...

    def run_setup(self, commands: Sequence[str]) -> list[ExecResult]:
        """Run the repository's setup commands once, after the workspace is filled.

        They install into the repository's own environment (``sandboxes.environments``), which
        a later sandbox with the same key starts from instead (one result then says so). With
        network policy ``setup`` they get network access, which is cut before this returns;
        with ``none`` they run offline like everything else. Stops at the first failing command
        (its result is the last in the list)."""
        ...

    def read_file(self, path: str) -> bytes:
        """Read a workspace file (relative path). Refuses paths or symlinks leaving the workspace."""
        ...

    def write_file(self, path: str, data: bytes) -> None:
        """Write a workspace file (relative path), creating parent directories."""
        ...

    def close(self) -> None:
        """Stop every process and release the sandbox. Idempotent."""
        ...


class SandboxProvider(Protocol):
    """Hands out fresh sandboxes; a sandbox is never reused across jobs."""

    name: str

    def acquire(self, spec: SandboxSpec) -> Sandbox:
        """A ready sandbox with an empty workspace; raises ``SandboxError`` with the reason."""
        ...

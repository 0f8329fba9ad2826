"""Docker sandboxes: one hardened container per sandbox, commands run through the exec API.

Hardening (all on by default): non-root user 10001, every capability dropped,
``no-new-privileges``, read-only root filesystem with tmpfs ``/tmp`` and ``$HOME``,
memory limit with no swap, CPU and pids limits, no network (``none``), no host
environment, no Docker socket, a disk quota (the workspace is its own size-limited filesystem:
``sandboxes.disk_quota``), and no mount but the workspace and the gate's two side directories
(its plugin read-only, its record of outcomes; see ``SideDirs``) (plus the public CA bundle,
read-only, under network policy ``setup``, whose network window uses a dedicated bridge the
host firewall keeps away from host services: see ``sandboxes.setup_network``), the repository's
environment at ``/shipyard/env`` and the gate's tooling read-only at ``/shipyard/gate`` (see
``sandboxes.environments``; the environment is a virtualenv made from the image's ``python3``,
seeing the image's own packages). The environment directory is bound with slave propagation,
so a cached environment mounted there on the host after the container started shows inside. The workspace is a
host directory bind-mounted at ``/workspace``, so the engine must share the orchestrator's filesystem (local socket or a
``DOCKER_HOST`` on the same machine).

Timeouts are enforced from the host: at the deadline every process started by that exec
(found by a per-exec marker in its environment, through the container's cgroup when the
engine is local, else by a kill command inside) is killed. The same happens when the
command exits while background children still hold its output open: an exec is one
process tree that ends with its command, as in a CI step (children that redirect their
output elsewhere run on until ``close``). OOM is reported when the exec
ended with status 137 (SIGKILL) and the engine logged an ``oom`` event for the container
since the exec began (works for remote engines too; no ``dmesg``). A child killed by the
limit whose parent carries on (and exits otherwise) is not reported as OOM; its own error
output is in the result.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, ImageNotFound, NotFound

from sandboxes.base import EnvironmentReport, ExecResult, SandboxError, SandboxSpec, SideDirs, resolve_cwd
from sandboxes.command_env import command_env, sandbox_command
from sandboxes.container_procs import host_procs_file, kill_marked
from sandboxes.disk_quota import QUOTA_FIX, QuotaDisk, quota_problem, release_disk
from sandboxes.docker_stream import pump_exec_output, raw_socket
from sandboxes.environments.cache import ENVS_DIR, SYSTEM_PATH, EnvCache
from sandboxes.environments.gate_tools import GATE_MOUNT, ensure_gate_tools, gate_tag
from sandboxes.environments.repository import ENV_MOUNT, RepoEnvironment
from sandboxes.local import SANDBOX_HOME, SANDBOX_UID, SANDBOX_WORKDIR, make_side_dirs
from sandboxes.output_cap import CappedOutput
from sandboxes.setup_network import SETUP_NETWORK, ensure_setup_network
from sandboxes.workspace_files import hand_over_tree, read_workspace_file, write_workspace_file

log = logging.getLogger(__name__)

SANDBOX_LABEL = "shipyard.sandbox"
OWNER_LABEL = "shipyard.owner"
"""``host:pid`` of the orchestrator process that started the container."""
DIR_LABEL = "shipyard.sandbox.dir"
"""Host directory holding the workspace, removed with a leaked container."""
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
SANDBOX_CA_PATH = "/etc/shipyard-ca.crt"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_HINT = "run `make sandbox-image` (or `python -m sandboxes.images ensure`)"
_KILL_MARKED = (
    "for round in 1 2 3; do for d in /proc/[0-9]*; do "
    'if tr "\\0" "\\n" < "$d/environ" 2>/dev/null | grep -qx "SHIPYARD_EXEC=$1"; '
    'then kill -9 "${d#/proc/}" 2>/dev/null; fi; '
    "done; done"
)


def docker_client() -> docker.DockerClient:
    """A client for the engine named by ``DOCKER_HOST`` (default: the local socket)."""
    try:
        return docker.from_env(timeout=60)
    except DockerException as exc:
        raise SandboxError(f"Docker engine unreachable (check DOCKER_HOST): {exc}") from None


class DockerSandboxProvider:
    """Starts one container per sandbox; workspaces are directories under ``root``."""

    name = "docker"

    def __init__(
        self,
        root: Path,
        *,
        client: docker.DockerClient | None = None,
        pool_size: int = 0,
        ca_bundle: Path = HOST_CA_BUNDLE,
        env_root: Path | None = None,
    ) -> None:
        """``pool_size`` > 0 keeps that many containers started per spec (see ``sandboxes.pool``).
        ``env_root``: where repository environments are cached and the gate's tooling is kept
        (default: ``envs`` beside ``root``)."""
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.env_root = Path(env_root) if env_root else self.root.resolve().parent / ENVS_DIR
        self.gate_dir = ensure_gate_tools(self.env_root)
        self.env_cache = EnvCache(self.env_root)
        self._image_ids: dict[str, str] = {}
        problem = quota_problem()
        if problem:
            raise SandboxError(f"sandbox backend docker: no disk quota possible ({problem}); {QUOTA_FIX}")
        self.client = client or docker_client()
        self.ca_bundle = ca_bundle
        self.pool_size = pool_size
        self.warning: str | None = None
        self._image_paths: dict[str, str] = {}
        self._pools: dict[tuple, Any] = {}
        self._pools_lock = threading.Lock()
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        """Label on every container, so the reaper spares sandboxes of live workers."""

    def acquire(self, spec: SandboxSpec) -> DockerSandbox:
        if self.pool_size > 0 and spec.network == "none":
            return self.pool_for(spec).acquire(spec)
        return self.start(spec)

    def pool_for(self, spec: SandboxSpec) -> Any:
        """The warm pool serving ``spec`` (created and filling on first use)."""
        from sandboxes.pool import WarmPool, pool_key  # the pool builds on this module

        with self._pools_lock:
            key = pool_key(spec)
            if key not in self._pools:
                self._pools[key] = WarmPool(self, spec, self.pool_size)
            return self._pools[key]

    def close(self) -> None:
        """Stop the warm pools (their idle containers are removed)."""
        with self._pools_lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()

    def image_path(self, image: str) -> str:
        """The image's own PATH, restored after the login shell's profile resets it."""
        if image not in self._image_paths:
            env = self.client.api.inspect_image(image)["Config"].get("Env") or []
            found = next((e.split("=", 1)[1] for e in env if e.startswith("PATH=")), DEFAULT_PATH)
            self._image_paths[image] = found
        return self._image_paths[image]

    def env_base(self, image: str) -> str:
        """What an environment made in ``image`` depends on besides its recipe: the image itself."""
        if image not in self._image_ids:
            self._image_ids[image] = self.client.api.inspect_image(image)["Id"]
        return f"docker:{self._image_ids[image]}:gate-{gate_tag()}"

    def start(self, spec: SandboxSpec) -> DockerSandbox:
        """A freshly started container (cold start), bypassing any pool."""
        sandbox_id = f"docker-{uuid.uuid4().hex[:12]}"
        sandbox_dir = Path(tempfile.mkdtemp(prefix=f"{sandbox_id}-", dir=self.root))
        try:
            disk = QuotaDisk(sandbox_dir, spec.disk_mb)
        except SandboxError:
            sandbox_dir.rmdir()
            raise
        workspace = sandbox_dir / "workspace"
        workspace.mkdir()
        shutil.chown(workspace, SANDBOX_UID, SANDBOX_UID)
        side_dirs = make_side_dirs(sandbox_dir, isolated=True)
        env = RepoEnvironment(
            sandbox_dir / "env",
            ENV_MOUNT,
            gate_host=self.gate_dir,
            gate_mount=GATE_MOUNT,
            base="",
            base_python="python3",
            system_site=True,
            cache=self.env_cache,
            owner=(SANDBOX_UID, SANDBOX_UID),
        )
        # Shared, so the container's slave bind of the environment directory sees the overlay
        # of a cached environment mounted after it started.
        mount = shutil.which("mount", path=SYSTEM_PATH) or "mount"
        subprocess.run([mount, "--make-shared", str(sandbox_dir)], capture_output=True)
        try:
            path = self.image_path(spec.image)
            container = self.client.containers.run(**self._run_args(spec, sandbox_id, workspace, side_dirs))
        except SandboxError:
            _discard(sandbox_dir)
            raise
        except ImageNotFound:
            _discard(sandbox_dir)
            raise SandboxError(f"image {spec.image} not found — {IMAGE_HINT}") from None
        except DockerException as exc:
            # run() is create + start: a container that failed to start still exists.
            try:
                self.client.api.remove_container(f"shipyard-{sandbox_id}", force=True)
            except DockerException:
                pass
            _discard(sandbox_dir)
            raise SandboxError(f"sandbox container from {spec.image} failed to start: {_explain(exc)}") from None
        try:
            env.base = self.env_base(spec.image)
        except DockerException as exc:
            container.remove(force=True)
            _discard(sandbox_dir)
            raise SandboxError(f"image {spec.image}: cannot be inspected: {_explain(exc)}") from None
        return DockerSandbox(self, spec, sandbox_id, container, disk, workspace, path, side_dirs, env)

    def _run_args(self, spec: SandboxSpec, sandbox_id: str, workspace: Path, side_dirs: SideDirs) -> dict[str, Any]:
        tmpfs_opts = f"rw,exec,nosuid,nodev,size={spec.memory_mb}m"
        volumes = {
            str(workspace): {"bind": SANDBOX_WORKDIR, "mode": "rw"},
            str(side_dirs.host_tools): {"bind": side_dirs.tools, "mode": "ro"},
            str(side_dirs.host_records): {"bind": side_dirs.records, "mode": "rw"},
            str(workspace.parent / "env"): {"bind": ENV_MOUNT, "mode": "rw,rslave"},
            str(self.gate_dir): {"bind": GATE_MOUNT, "mode": "ro"},
        }
        if spec.network == "setup":
            volumes[str(self.ca_bundle)] = {"bind": SANDBOX_CA_PATH, "mode": "ro"}
        return dict(
            image=spec.image,
            command=["sleep", "infinity"],
            name=f"shipyard-{sandbox_id}",
            hostname="shipyard-sandbox",
            detach=True,
            init=True,
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            working_dir=SANDBOX_WORKDIR,
            environment={"HOME": SANDBOX_HOME, "LANG": "C.UTF-8", "USER": "sandbox"},
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            read_only=True,
            tmpfs={
                "/tmp": f"{tmpfs_opts},mode=1777",
                SANDBOX_HOME: f"{tmpfs_opts},uid={SANDBOX_UID},gid={SANDBOX_UID},mode=0755",
            },
            mem_limit=f"{spec.memory_mb}m",
            memswap_limit=f"{spec.memory_mb}m",
            nano_cpus=int(spec.cpus * 1e9),
            pids_limit=spec.pids,
            network_mode=ensure_setup_network(self.client) if spec.network == "setup" else "none",
            labels={
                **spec.labels,
                SANDBOX_LABEL: "1",
                f"{SANDBOX_LABEL}.id": sandbox_id,
                OWNER_LABEL: self.owner,
                DIR_LABEL: str(workspace.parent),
            },
            volumes=volumes,
        )


def _discard(sandbox_dir: Path) -> None:
    """Unmount and delete a sandbox directory (and its disk image)."""
    release_disk(sandbox_dir)
    shutil.rmtree(sandbox_dir, ignore_errors=True)


def _explain(exc: DockerException) -> str:
    if isinstance(exc, APIError):
        return str(exc.explanation or exc)
    return str(exc)


class DockerSandbox:
    """One running container; see the module docstring for its limits."""

    backend = "docker"
    isolated = True
    workdir = SANDBOX_WORKDIR

    def __init__(
        self,
        provider: DockerSandboxProvider,
        spec: SandboxSpec,
        sandbox_id: str,
        container: Any,
        disk: QuotaDisk,
        workspace: Path,
        image_path: str,
        side_dirs: SideDirs,
        repo_env: RepoEnvironment,
    ) -> None:
        self.provider = provider
        self.spec = spec
        self.id = sandbox_id
        self.container = container
        self.host_workspace = workspace
        self._disk = disk
        self._dir = disk.directory
        self.side_dirs = side_dirs
        self.repo_env = repo_env
        self._path = image_path
        self._api = provider.client.api
        self._networked = spec.network == "setup"
        self._procs_file: Path | None | bool = None
        """The container's cgroup.procs on this host (False: engine not local); found on first need."""
        self._closed = False

    @property
    def environment_report(self) -> EnvironmentReport | None:
        return self.repo_env.report

    def _env(self, extra: dict[str, str] | None, marker: str, *, setup: bool) -> dict[str, str]:
        variables = self.repo_env.variables(self._path)
        env = {"USER": "sandbox", "SHIPYARD_EXEC": marker, **variables}
        env.pop("PATH")
        if "VIRTUAL_ENV" not in variables:
            # No environment made (no setup): the root filesystem is read-only, pip installs go to
            # the user site in $HOME.
            env |= {"PIP_USER": "1", "PIP_BREAK_SYSTEM_PACKAGES": "1"}
            env.pop("PYTHONNOUSERSITE")
        if setup:
            env.update(
                {
                    name: SANDBOX_CA_PATH
                    for name in (
                        "PIP_CERT",
                        "SSL_CERT_FILE",
                        "REQUESTS_CA_BUNDLE",
                        "NODE_EXTRA_CA_CERTS",
                        "GIT_SSL_CAINFO",
                    )
                }
            )
        return command_env(
            path=variables["PATH"],
            home=SANDBOX_HOME,
            tmpdir="/tmp",
            backend=env,
            extra=extra,
            python_path=self.repo_env.python_path,
        )

    def _cwd(self, cwd: str | None) -> str:
        return resolve_cwd(self.workdir, cwd)

    def exec(
        self, command: str, *, timeout_s: float | None = None, cwd: str | None = None, env: dict[str, str] | None = None
    ) -> ExecResult:
        # Only run_setup may use the network; anything else first cuts it.
        self.cut_network()
        return self._exec(command, timeout_s, cwd, env, setup=False)

    def run_setup(self, commands: Sequence[str]) -> list[ExecResult]:
        try:
            return self.repo_env.setup(
                commands,
                self.host_workspace,
                lambda command: self._exec(command, None, None, None, setup=self._networked),
            )
        finally:
            self.cut_network()

    def cut_network(self) -> None:
        """Disconnect the container from every network (policy ``setup``, after setup)."""
        if not self._networked:
            return
        try:
            self._api.disconnect_container_from_network(self.container.id, SETUP_NETWORK, force=True)
        except APIError as exc:
            raise SandboxError(f"sandbox {self.id}: could not cut its network: {_explain(exc)}") from None
        self._networked = False

    def _exec(
        self, command: str, timeout_s: float | None, cwd: str | None, env: dict[str, str] | None, *, setup: bool
    ) -> ExecResult:
        if self._closed:
            raise SandboxError(f"sandbox {self.id} is closed")
        hand_over_tree(self.host_workspace, SANDBOX_UID, SANDBOX_UID)
        marker = uuid.uuid4().hex
        timeout = timeout_s if timeout_s is not None else self.spec.command_timeout_s
        output = CappedOutput(self.spec.output_cap_bytes)
        started, since = time.monotonic(), f"{time.time():.9f}"
        try:
            exec_id = self._api.exec_create(
                self.container.id,
                ["bash", "-lc", sandbox_command(command)],
                stdout=True,
                stderr=True,
                user=f"{SANDBOX_UID}:{SANDBOX_UID}",
                environment=self._env(env, marker, setup=setup),
                workdir=self._cwd(cwd),
            )["Id"]
            sock = raw_socket(self._api.exec_start(exec_id, socket=True))
            try:
                ending = pump_exec_output(sock, output, started + timeout, lambda: not self._running(exec_id))
            finally:
                sock.close()
            timed_out = ending == "timeout"
            if ending != "eof" or self._procs_file is not False:
                # Leftovers holding the output open would stall the engine's next exec; those that
                # let go of it (the engine may close the stream when the command exits) end with
                # their command too — where the engine is local that costs a look at /proc.
                self._kill_exec(marker, output)
            exit_code = self._exit_code(exec_id)
        except DockerException as exc:
            raise SandboxError(f"sandbox {self.id}: exec failed: {self._state_reason(exc)}") from None
        self._disk.check(command)
        # The kernel's OOM killer sends SIGKILL: bash reports 128 + 9 for the killed command.
        oom = not timed_out and exit_code == 137 and self._oom_since(since)
        return ExecResult(
            exit_code=-1 if (timed_out or oom or exit_code is None) else exit_code,
            output=output.text(),
            duration_s=time.monotonic() - started,
            timed_out=timed_out,
            oom_killed=oom,
            elided_bytes=output.elided_bytes,
        )

    def _running(self, exec_id: str) -> bool:
        return bool(self._api.exec_inspect(exec_id)["Running"])

    def _exit_code(self, exec_id: str, wait_s: float = 5.0) -> int | None:
        end = time.monotonic() + wait_s
        while True:
            info = self._api.exec_inspect(exec_id)
            if not info["Running"] or time.monotonic() > end:
                return info["ExitCode"] if not info["Running"] else None
            time.sleep(0.01)

    def _kill_exec(self, marker: str, output: CappedOutput) -> None:
        """Kill every process this exec started; restart the container if that is impossible."""
        if self._procs_file is None:
            self.container.reload()
            self._procs_file = host_procs_file(self.container.id, self.container.attrs["State"]["Pid"]) or False
        if self._procs_file:
            kill_marked(self._procs_file, marker)
            return
        try:
            self.container.exec_run(
                ["sh", "-c", _KILL_MARKED, "kill-exec", marker],
                user=f"{SANDBOX_UID}:{SANDBOX_UID}",
                environment={"PATH": self._path},
            )
            return
        except DockerException:
            pass
        # A fork bomb at the pids limit leaves no room for the kill command itself.
        output.feed(
            b"\n[shipyard: processes could not be killed one by one; sandbox restarted, /tmp and $HOME cleared]\n"
        )
        self.container.restart(timeout=0)

    def _oom_since(self, since: str) -> bool:
        """Whether the engine reported the memory limit killing a process since ``since``."""
        events = self.provider.client.events(
            since=since,
            until=f"{time.time() + 0.5:.9f}",
            decode=True,
            filters={"container": self.container.id, "event": "oom"},
        )
        try:
            return any(True for _ in events)
        finally:
            events.close()

    def _state_reason(self, exc: DockerException) -> str:
        try:
            self.container.reload()
            state = self.container.attrs["State"]
            if not state.get("Running"):
                return (
                    f"container is {state.get('Status')} "
                    f"(exit {state.get('ExitCode')}, OOMKilled={state.get('OOMKilled')})"
                )
        except DockerException:
            return f"container is gone ({_explain(exc)})"
        return _explain(exc)

    def read_file(self, path: str) -> bytes:
        return read_workspace_file(self.host_workspace, path)

    def write_file(self, path: str, data: bytes) -> None:
        write_workspace_file(self.host_workspace, path, data, owner=(SANDBOX_UID, SANDBOX_UID))

    def close(self) -> None:
        """Remove the container (every process in it), the workspace and its disk."""
        if self._closed:
            return
        self._closed = True
        try:
            self.container.remove(force=True)
        except NotFound:
            pass
        except DockerException as exc:
            # The reaper removes it later by its label; the workspace can still go now.
            log.warning("sandbox %s: container removal failed: %s", self.id, _explain(exc))
        self.repo_env.close()
        _discard(self._dir)

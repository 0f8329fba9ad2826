"""Sandboxes made of host processes: bubblewrap when it works, plain subprocess otherwise.

``bwrap`` backend (isolated): a fresh mount namespace whose root is a tmpfs holding
read-only binds of the system directories (``/usr``, ``/lib``, a few ``/etc`` files; never
``/opt``, ``/srv``, ``/var`` or the rest of ``/etc``) and of the host's base Python (never the
orchestrator's virtualenv: the repository's environment is made from the base interpreter, see
``sandboxes.environments``), the workspace at ``/workspace``, the repository's environment at
``/shipyard/env``, the gate's tooling read-only at ``/shipyard/gate``, a private home, a tmpfs
``/tmp``; no ``/root``, ``/home``, ``/run`` (no Docker socket). New
pid/ipc/uts/net namespaces; commands run as uid 10001 with no capabilities when the
orchestrator is root. A per-sandbox cgroup adds pids and memory limits where allowed, and a
disk quota bounds what it writes (``sandboxes.disk_quota``: workspace and home live on a
size-limited filesystem mounted over the sandbox's directory).
Under network policy ``setup`` the setup commands still get no network namespace of the host's:
they reach the package registries through a filtering proxy that refuses every non-public
address (host services, cloud metadata): see ``sandboxes.setup_proxy``.
Every command is its own pid namespace: its background processes end with it.

``local`` backend (NOT isolated, development only): plain subprocesses in the workspace
with a scrubbed environment. Used only when asked for (``isolation="none"``, or
``allow_unisolated`` when bubblewrap is not usable); ``provider.warning`` says so and the
workflow shows it on every job. As root its commands still drop to uid 10001, with the data
directory, the secrets file and the Docker socket covered (``sandboxes.plain_guard``), and
get the disk quota.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from sandboxes.base import EnvironmentReport, ExecResult, SandboxError, SandboxSpec, SideDirs, resolve_cwd
from sandboxes.cgroup_limits import SandboxCgroup, cgroups_available
from sandboxes.command_env import command_env, sandbox_command
from sandboxes.disk_quota import QUOTA_FIX, QuotaDisk, quota_problem, release_disk
from sandboxes.environments.cache import ENVS_DIR, EnvCache
from sandboxes.environments.gate_tools import GATE_MOUNT, ensure_gate_tools, gate_tag
from sandboxes.environments.repository import ENV_MOUNT, RepoEnvironment
from sandboxes.host_process import run_capped_process
from sandboxes.plain_guard import PlainGuard, closed_ancestors, drop_root_argv
from sandboxes.setup_proxy import SetupProxy, proxied, proxy_env
from sandboxes.workspace_files import hand_over_tree, read_workspace_file, write_workspace_file

SANDBOX_UID = 10001
"""Unprivileged user the bwrap backend runs commands as (same uid as the Docker image's)."""
SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level host directories visible (read-only) inside a bwrap sandbox; nothing else is: not
``/opt``, ``/srv`` or ``/var``, where deployments keep their configuration and data."""
ETC_ENTRIES = (
    "passwd",
    "group",
    "nsswitch.conf",
    "hosts",
    "host.conf",
    "resolv.conf",
    "gai.conf",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "alternatives",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "profile",
    "profile.d",
    "bash.bashrc",
    "inputrc",
    "environment",
    "login.defs",
    "locale.alias",
    "locale.gen",
    "mime.types",
    "os-release",
    "debian_version",
    "gitconfig",
    "magic",
    "magic.mime",
)
"""The few ``/etc`` entries tools need (users, name lookup, libraries, certificates, shell start-up);
the rest of ``/etc`` (a deployment's ``shipyard.toml``, service credentials) stays out of sight."""
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SANDBOX_HOME = "/home/sandbox"
SANDBOX_WORKDIR = "/workspace"
SANDBOX_TOOLS = "/shipyard/tools"
SANDBOX_RECORDS = "/shipyard/records"
SANDBOX_PROXY = "/shipyard/proxy"
HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
NO_BWRAP_FIX = (
    "install bubblewrap (apt-get install bubblewrap) or use the docker backend; to run jobs as plain host "
    "processes with no isolation at all, opt in with SHIPYARD_ALLOW_UNISOLATED=1"
)
UNISOLATED_WARNING = (
    "UNISOLATED SANDBOX: commands run as plain host processes with full network and filesystem "
    "access ({reason}); as root they run as uid 10001 with the data directory, the secrets file and "
    "the Docker socket hidden, otherwise as the orchestrator's user. Use the docker or bwrap backend for real work."
)


def make_side_dirs(sandbox_dir: Path, *, isolated: bool) -> SideDirs:
    """``tools`` and ``records`` under ``sandbox_dir``, both kept by the orchestrator's user.

    ``records`` can be traversed but neither listed nor changed by the sandbox's user: the
    orchestrator creates each record file there (writable) before a run, so a command in the
    sandbox can write a record it knows the name of but not delete, rename or find one."""
    tools, records = sandbox_dir / "tools", sandbox_dir / "records"
    tools.mkdir(mode=0o755)
    records.mkdir()
    records.chmod(0o711)
    if not isolated:
        return SideDirs(tools, str(tools), records, str(records))
    return SideDirs(tools, SANDBOX_TOOLS, records, SANDBOX_RECORDS)


class LocalSandboxProvider:
    """Hands out host-process sandboxes under ``root`` (one fresh directory each)."""

    name = "local"

    def __init__(
        self,
        root: Path,
        *,
        isolation: Literal["auto", "bwrap", "none"] = "auto",
        extra_ro_paths: Sequence[Path] = (),
        hidden_paths: Sequence[Path] = (),
        use_cgroups: bool | None = None,
        allow_unisolated: bool = False,
        env_root: Path | None = None,
    ) -> None:
        """``isolation``: ``auto`` uses bwrap when it works, ``bwrap`` requires it, ``none`` never
        uses it. ``allow_unisolated``: under ``auto``, fall back to plain host processes when
        bwrap is not usable instead of refusing (``SandboxError`` naming the fix).
        ``extra_ro_paths``: more host paths shown read-only inside bwrap sandboxes.
        ``hidden_paths``: host directories replaced by an empty tmpfs inside bwrap sandboxes; the
        directory holding ``root`` (the orchestrator's data directory) is always hidden.
        ``use_cgroups``: per-sandbox pids/memory cgroup (default: when this process may create one).
        ``hidden_paths`` may name files too (the secrets file): the plain backend covers them.
        ``env_root``: where repository environments are cached and the gate's tooling is kept
        (default: ``envs`` beside ``root``)."""
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.env_root = Path(env_root) if env_root else self.root.parent / ENVS_DIR
        self.gate_dir = ensure_gate_tools(self.env_root)
        # Never mask a top-level directory such as /var or /srv as a whole: hide the root itself then.
        data_dir = self.root.parent if len(self.root.parent.parts) > 2 else self.root
        self.hidden_paths = [data_dir, *(Path(p) for p in hidden_paths)]
        self.quota = quota_problem() is None
        """Sandboxes get a disk quota (always for bwrap, which refuses to start without)."""
        self.base_python = base_python()
        self.python_dir = str(Path(self.base_python).parent)
        self.ro_paths = _python_paths() + [Path(p) for p in extra_ro_paths]
        self.use_cgroups = cgroups_available() if use_cgroups is None else use_cgroups
        self.warning: str | None = None
        """Set when sandboxes are not isolated; show it to users on every job."""
        self.bwrap: str | None = None
        if isolation != "none":
            problem = self._probe_bwrap()
            if problem and isolation == "bwrap":
                raise SandboxError(f"bwrap backend unavailable: {problem}")
            if problem and not allow_unisolated:
                raise SandboxError(f"sandbox backend local: bubblewrap is not usable ({problem}); {NO_BWRAP_FIX}")
            if problem:
                self.warning = UNISOLATED_WARNING.format(reason=f"bubblewrap not usable: {problem}")
        else:
            self.warning = UNISOLATED_WARNING.format(reason="isolation disabled by configuration")
        if self.bwrap and not self.quota:
            raise SandboxError(f"bwrap backend: no disk quota possible ({quota_problem()}); {QUOTA_FIX}")
        self.guard: PlainGuard | None = None
        if not self.bwrap and os.geteuid() == 0:
            stash = Path(tempfile.mkdtemp(prefix="shipyard-plain-stash-"))
            atexit.register(shutil.rmtree, stash, ignore_errors=True)
            hidden = [*self.hidden_paths, *closed_ancestors(self.root)]
            reveal = [*self.ro_paths, self.gate_dir]
            self.guard = PlainGuard(uid=SANDBOX_UID, hidden=hidden, reveal=reveal, stash=stash)
        self.env_cache = EnvCache(self.env_root)
        """Environments shared between sandboxes: bwrap sandboxes mount them (the same paths inside
        every one); a plain sandbox's paths are its own, so it gets a copy with its paths rewritten."""
        self.env_base = f"{'bwrap' if self.bwrap else 'plain'}:{os.path.realpath(self.base_python)}:{sys.version}"
        self.env_base += f":gate-{gate_tag()}"

    def _probe_bwrap(self) -> str | None:
        """Why bwrap cannot be used here, or None when a trial sandbox ran."""
        path = shutil.which("bwrap")
        if not path:
            return "bwrap is not installed (apt-get install bubblewrap)"
        if os.geteuid() == 0 and not shutil.which("setpriv"):
            return "setpriv (util-linux) is needed to drop root inside bwrap"
        self.bwrap = path
        # Signed like a sandbox: a worker killed during the trial leaves it to the reaper.
        with tempfile.TemporaryDirectory(prefix="probe-", dir=self.root) as probe:
            (Path(probe) / "owner").write_text(f"{socket.gethostname()}:{os.getpid()}\n")
            argv = self.bwrap_argv(Path(probe), Path(probe), "/", network=False) + ["true"]
            try:
                proc = subprocess.run(argv, capture_output=True, timeout=20, env={"PATH": BASE_PATH})
            except (OSError, subprocess.TimeoutExpired) as exc:
                self.bwrap = None
                return f"trial run failed: {exc}"
        if proc.returncode != 0:
            self.bwrap = None
            return f"trial run failed: {proc.stderr.decode(errors='replace').strip()}"
        return None

    def bwrap_argv(
        self,
        workspace: Path,
        home: Path,
        cwd: str,
        *,
        network: bool,
        side_dirs: SideDirs | None = None,
        env_dir: Path | None = None,
        proxy_dir: Path | None = None,
    ) -> list[str]:
        """The bwrap (and privilege drop) prefix for one command."""
        assert self.bwrap
        argv = [
            self.bwrap,
            "--die-with-parent",
            "--new-session",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "shipyard-sandbox",
        ]
        if not network:
            argv.append("--unshare-net")
        for name in SYSTEM_DIRS:
            host = Path("/") / name
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), str(host)]
            elif host.is_dir():
                argv += ["--ro-bind", str(host), str(host)]
        argv += ["--perms", "0755", "--dir", "/etc"]
        for name in ETC_ENTRIES:
            host = Path("/etc") / name
            if host.is_symlink():
                argv += ["--symlink", os.readlink(host), str(host)]
            elif host.exists():
                argv += ["--ro-bind", str(host), str(host)]
        # /tmp first: the orchestrator's Python may live under /tmp (a checkout there), and its
        # read-only bind below must sit on top of this tmpfs, not under it. World-writable and
        # sticky for the unprivileged user: tools mkdtemp there.
        argv += ["--perms", "1777", "--tmpfs", "/tmp"]
        made: set[Path] = set()
        for path in [*self.ro_paths, Path(SANDBOX_HOME)]:
            # bwrap would create missing parents (/root, /home) as 0700 root: unreadable by uid 10001.
            for parent in reversed(path.parents[:-1]):
                if parent not in made:
                    made.add(parent)
                    argv += ["--perms", "0755", "--dir", str(parent)]
        for path in self.ro_paths:
            if path.exists():
                argv += ["--ro-bind", str(path), str(path)]
        for path in self.hidden_paths:
            if path.is_dir():
                argv += ["--tmpfs", str(path)]
            elif path.exists() and self._visible(path):
                argv += ["--ro-bind", "/dev/null", str(path)]
        argv += [
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--bind",
            str(workspace),
            SANDBOX_WORKDIR,
            "--bind",
            str(home),
            SANDBOX_HOME,
        ]
        if side_dirs is not None:
            argv += [
                "--perms",
                "0755",
                "--dir",
                str(Path(side_dirs.tools).parent),
                "--ro-bind",
                str(side_dirs.host_tools),
                side_dirs.tools,
                "--bind",
                str(side_dirs.host_records),
                side_dirs.records,
            ]
        if env_dir is not None:
            argv += ["--bind", str(env_dir), ENV_MOUNT, "--ro-bind", str(self.gate_dir), GATE_MOUNT]
        if proxy_dir is not None:
            argv += ["--ro-bind", str(proxy_dir), SANDBOX_PROXY]
        argv += ["--remount-ro", "/", "--chdir", cwd, "--"]
        if os.geteuid() == 0:
            argv += drop_root_argv(SANDBOX_UID)
        return argv

    def _visible(self, path: Path) -> bool:
        """Whether a host path is inside what a bwrap sandbox sees (a file there must be covered)."""
        shown = [Path("/") / name for name in SYSTEM_DIRS] + [Path("/etc") / n for n in ETC_ENTRIES] + self.ro_paths
        return any(path.is_relative_to(top) for top in shown)

    def acquire(self, spec: SandboxSpec) -> LocalSandbox:
        try:
            return LocalSandbox(self, spec)
        except OSError as exc:
            raise SandboxError(f"local sandbox could not be created under {self.root}: {exc}") from None


def base_python() -> str:
    """The host's base interpreter (the one the orchestrator's virtualenv was made from)."""
    name = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (Path(sys.base_prefix) / "bin" / name, Path(sys.base_prefix) / "bin" / "python3"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("python3", path=BASE_PATH) or "python3"


def _python_paths() -> list[Path]:
    """The host's base Python install, which may live under /root; never the orchestrator's
    virtualenv (its packages are Shipyard's, not the repository's)."""
    paths = []
    for prefix in {sys.base_prefix, sys.base_exec_prefix}:
        path = Path(prefix)
        if path.parts[1:2] and path.parts[1] not in SYSTEM_DIRS:
            paths.append(path)
    return sorted(paths)


class LocalSandbox:
    """One host-process sandbox; see the module docstring for what isolates it."""

    def __init__(self, provider: LocalSandboxProvider, spec: SandboxSpec) -> None:
        self.provider = provider
        self.spec = spec
        self.id = f"local-{uuid.uuid4().hex[:12]}"
        self.isolated = provider.bwrap is not None
        self.backend = "bwrap" if self.isolated else "local"
        self._dir = Path(tempfile.mkdtemp(prefix=f"{self.id}-", dir=provider.root))
        self._disk: QuotaDisk | None = None
        if provider.quota:
            try:
                self._disk = QuotaDisk(self._dir, spec.disk_mb)
            except SandboxError:
                self._dir.rmdir()
                raise
        # Written after the mount: only the host sees it (commands get workspace and home only).
        (self._dir / "owner").write_text(f"{socket.gethostname()}:{os.getpid()}\n")
        self.host_workspace = self._dir / "workspace"
        self._home = self._dir / "home"
        self._tmp = self._dir / "tmp"
        for path in (self.host_workspace, self._home, self._tmp):
            path.mkdir()
        self._drop_root = os.geteuid() == 0
        if self._drop_root:
            os.chmod(self._dir, 0o711)
            for path in (self.host_workspace, self._home, self._tmp):
                os.chown(path, SANDBOX_UID, SANDBOX_UID)
        self.workdir = SANDBOX_WORKDIR if self.isolated else str(self.host_workspace)
        self.side_dirs = make_side_dirs(self._dir, isolated=self.isolated)
        self.repo_env = RepoEnvironment(
            self._dir / "env",
            ENV_MOUNT if self.isolated else str(self._dir / "env"),
            gate_host=provider.gate_dir,
            gate_mount=GATE_MOUNT if self.isolated else str(provider.gate_dir),
            base=provider.env_base,
            base_python=provider.base_python,
            system_site=False,
            cache=provider.env_cache,
            owner=(SANDBOX_UID, SANDBOX_UID) if self._drop_root else None,
            host_paths=not self.isolated,
        )
        self._cgroup = (
            SandboxCgroup(self.id, pids=spec.pids, memory_mb=spec.memory_mb) if provider.use_cgroups else None
        )
        self._closed = False

    @property
    def environment_report(self) -> EnvironmentReport | None:
        return self.repo_env.report

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        variables = self.repo_env.variables(f"{self.provider.python_dir}:{BASE_PATH}")
        return command_env(
            path=variables.pop("PATH"),
            home=SANDBOX_HOME if self.isolated else str(self._home),
            tmpdir="/tmp" if self.isolated else str(self._tmp),
            backend={"SHIPYARD_SANDBOX": self.id, **variables},
            extra=extra,
            python_path=self.repo_env.python_path,
        )

    def _cwd(self, cwd: str | None) -> str:
        return resolve_cwd(self.workdir, cwd)

    def _run(
        self,
        command: str,
        timeout_s: float | None,
        cwd: str | None,
        env: dict[str, str] | None,
        *,
        network: bool,
        proxy: SetupProxy | None = None,
    ) -> ExecResult:
        if self._closed:
            raise SandboxError(f"sandbox {self.id} is closed")
        if proxy is not None:
            command = proxied(command, self.provider.base_python, SANDBOX_PROXY)
            env = {**proxy_env(HOST_CA_BUNDLE), **(env or {})}
        script = ["bash", "-lc", sandbox_command(command)]
        if self._drop_root:
            hand_over_tree(self.host_workspace, SANDBOX_UID, SANDBOX_UID)
        if self.isolated:
            argv = self.provider.bwrap_argv(
                self.host_workspace,
                self._home,
                self._cwd(cwd),
                network=network,
                side_dirs=self.side_dirs,
                env_dir=self.repo_env.host_dir,
                proxy_dir=proxy.directory if proxy is not None else None,
            )
            argv += script
            host_cwd = str(self._dir)
        elif self.provider.guard is not None:
            argv, host_cwd = self.provider.guard.argv(self._dir, self._cwd(cwd)) + script, str(self._dir)
        else:
            argv, host_cwd = script, self._cwd(cwd)
        result = run_capped_process(
            argv,
            env=self._env(env),
            cwd=host_cwd,
            timeout_s=timeout_s if timeout_s is not None else self.spec.command_timeout_s,
            cap_bytes=self.spec.output_cap_bytes,
            cgroup=self._cgroup,
        )
        if self._disk is not None:
            self._disk.check(command)
        return result

    def exec(
        self, command: str, *, timeout_s: float | None = None, cwd: str | None = None, env: dict[str, str] | None = None
    ) -> ExecResult:
        return self._run(command, timeout_s, cwd, env, network=False)

    def run_setup(self, commands: Sequence[str]) -> list[ExecResult]:
        if self.spec.network != "setup" or not commands:
            return self.repo_env.setup(
                commands, self.host_workspace, lambda command: self._run(command, None, None, None, network=False)
            )
        if not self.isolated:
            # Plain host processes have the host's network anyway.
            return self.repo_env.setup(
                commands, self.host_workspace, lambda command: self._run(command, None, None, None, network=True)
            )
        proxy = SetupProxy()
        try:
            return self.repo_env.setup(
                commands,
                self.host_workspace,
                lambda command: self._run(command, None, None, None, network=False, proxy=proxy),
            )
        finally:
            proxy.close()

    def read_file(self, path: str) -> bytes:
        return read_workspace_file(self.host_workspace, path)

    def write_file(self, path: str, data: bytes) -> None:
        owner = (SANDBOX_UID, SANDBOX_UID) if self._drop_root else None
        write_workspace_file(self.host_workspace, path, data, owner=owner)

    def close(self) -> None:
        """Kill every process of the sandbox, release its disk and delete its directory (workspace included)."""
        if self._closed:
            return
        self._closed = True
        if self._cgroup is not None:
            self._cgroup.remove()
        self.repo_env.close()
        release_disk(self._dir)
        shutil.rmtree(self._dir, ignore_errors=True)

"""What keeps the plain (unisolated) backend's commands off the orchestrator's secrets when it runs as root.

The plain backend is development only and has no sandbox; still, as root it must not hand
its commands root. Each command runs in a private mount namespace where the data
directory, the secrets file and the Docker sockets are covered (an empty tmpfs, or
``/dev/null`` over a file), then drops to uid 10001 with no capabilities and no groups.
Directories other users cannot enter (``/root``, pytest's ``/tmp/pytest-of-root``) that hold
the orchestrator's Python or the sandbox are covered too, and just those paths are put back,
so the unprivileged user reaches the Python and the workspace and nothing else there.
Network and host services (Redis, PostgreSQL over TCP) stay reachable: use bwrap or Docker.
"""

from __future__ import annotations

import shlex
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path

DOCKER_SOCKETS = (Path("/var/run/docker.sock"), Path("/run/docker.sock"))
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def drop_root_argv(uid: int) -> list[str]:
    """``setpriv`` prefix running the rest as ``uid`` with no capabilities, groups or new privileges."""
    setpriv = shutil.which("setpriv", path=SYSTEM_PATH) or "setpriv"
    return [
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


def closed_ancestors(path: Path) -> list[Path]:
    """Ancestors of ``path`` that other users cannot enter (no ``o+x``), outermost first."""
    found = []
    for parent in reversed(path.parents[:-1]):
        try:
            if not parent.stat().st_mode & stat.S_IXOTH:
                found.append(parent)
        except OSError:
            break
    return found


class PlainGuard:
    """Builds the per-command prefix; ``stash`` is an empty root-only directory of the provider's."""

    def __init__(self, *, uid: int, hidden: Sequence[Path], reveal: Sequence[Path], stash: Path) -> None:
        self.uid = uid
        self.reveal = [Path(p) for p in reveal]
        closed = {a for p in self.reveal for a in closed_ancestors(p)}
        self.hidden_dirs = sorted(closed | {Path(p) for p in hidden if Path(p).is_dir()}, key=lambda p: len(p.parts))
        self.hidden_files = [Path(p) for p in (*hidden, *DOCKER_SOCKETS) if not Path(p).is_dir()]
        self.stash = stash

    def argv(self, workspace_dir: Path, cwd: str) -> list[str]:
        """Prefix for one command: ``workspace_dir`` (the sandbox's own directory) is put back too."""
        q = shlex.quote
        reveal = [*self.reveal, workspace_dir]
        lines = ["set -e", f"mount -t tmpfs -o size=64k,mode=0700 shipyard-stash {q(str(self.stash))}"]
        for i, path in enumerate(reveal):
            lines.append(f"mkdir {q(f'{self.stash}/{i}')} && mount --bind {q(str(path))} {q(f'{self.stash}/{i}')}")
        for path in self.hidden_dirs:
            # A path under an already covered directory is gone; nothing to cover.
            lines.append(
                f"if [ -d {q(str(path))} ]; "
                f"then mount -t tmpfs -o size=64k,mode=0755 shipyard-hidden {q(str(path))}; fi"
            )
        for path in self.hidden_files:
            lines.append(f"if [ -e {q(str(path))} ]; then mount --bind /dev/null {q(str(path))}; fi")
        for i, path in enumerate(reveal):
            lines.append(f"mkdir -p {q(str(path))} && mount --bind {q(f'{self.stash}/{i}')} {q(str(path))}")
        lines += [f"umount -l {q(str(self.stash))}", f"cd {q(cwd)}", 'exec "$@"']
        unshare = shutil.which("unshare", path=SYSTEM_PATH) or "unshare"
        return [
            unshare,
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "\n".join(lines),
            "plain-guard",
            *drop_root_argv(self.uid),
        ]

"""Built environments kept on the host, one directory per key, shared by every later sandbox.

``<root>/<key>/env`` is the environment as setup left it, ``<root>/<key>/workspace`` what setup
wrote into the repository's work tree (``node_modules``, an editable install's ``*.egg-info``),
and ``meta.json`` how long it took. An entry appears whole or not at all (built aside, then
renamed); builds of one key are single-flight (a lock per key), so two jobs on the same base
build it once. Sandboxes never see this directory: they get an overlay of it (a read-only
lower layer, their own writable upper layer on their disk quota), or a copy where overlays
cannot be mounted. Entries not used for the retention period are removed like job directories.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENVS_DIR = "envs"
"""Name of the environments' directory beside the sandboxes' (``data_dir/envs``)."""
META = "meta.json"
USED = "last_used"


@dataclass(frozen=True)
class CachedEnv:
    key: str
    env: Path
    workspace: Path
    built_s: float
    built_in: str = ""
    """Host directory the environment was built in, for environments whose paths are host paths
    (the plain backend); empty when it was built at the same path every sandbox sees."""


def copy_tree(source: Path, dest: Path) -> None:
    """``cp -a`` (owners, modes and links kept): ``source``'s contents into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    cp = shutil.which("cp", path=SYSTEM_PATH) or "cp"
    proc = subprocess.run([cp, "-a", f"{source}/.", str(dest)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise OSError(f"copying {source} failed: {proc.stderr.strip()}")


class EnvCache:
    """The environments under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def lookup(self, key: str) -> CachedEnv | None:
        entry = self.root / key
        try:
            meta = json.loads((entry / META).read_text())
        except (OSError, ValueError):
            return None
        (entry / USED).touch()
        built_s, built_in = float(meta.get("built_s", 0.0)), str(meta.get("built_in", ""))
        return CachedEnv(key, entry / "env", entry / "workspace", built_s, built_in)

    @contextmanager
    def building(self, key: str) -> Iterator[None]:
        """Hold the build lock of ``key`` (other builders of the same key wait, then find it cached)."""
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{key}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(
        self,
        key: str,
        env: Path,
        workspace: Path,
        outputs: Sequence[str],
        *,
        built_s: float,
        files: Sequence[str],
        built_in: str = "",
    ) -> None:
        """Keep ``env`` and the workspace ``outputs`` (relative paths) as the entry of ``key``."""
        entry = self.root / key
        if entry.exists():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=self.root))
        try:
            copy_tree(env, staging / "env")
            (staging / "workspace").mkdir()
            for rel in outputs:
                source = workspace / rel
                target = staging / "workspace" / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.is_dir() and not source.is_symlink():
                    copy_tree(source, target)
                else:
                    cp = shutil.which("cp", path=SYSTEM_PATH) or "cp"
                    subprocess.run([cp, "-a", str(source), str(target)], check=True, capture_output=True)
            meta = {
                "key": key,
                "built_s": round(built_s, 3),
                "files": list(files),
                "created": time.time(),
                "built_in": built_in,
            }
            (staging / META).write_text(json.dumps(meta, indent=1))
            (staging / USED).touch()
            os.chmod(staging, 0o700)
            staging.rename(entry)
        except (OSError, subprocess.CalledProcessError):
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def stale(self, older_than_s: float) -> list[Path]:
        """Entries not used for ``older_than_s`` seconds (and partial builds abandoned that long)."""
        if not self.root.is_dir():
            return []
        cutoff = time.time() - older_than_s
        found = []
        for entry in sorted(self.root.iterdir()):
            if entry.name == ".locks" or entry.is_symlink() or not entry.is_dir() or entry.name.startswith("gate-"):
                continue
            marker = entry / USED if (entry / USED).exists() else entry
            try:
                if marker.stat().st_mtime <= cutoff:
                    found.append(entry)
            except OSError:
                continue
        return found

    def reap(self, older_than_s: float) -> list[Path]:
        """Remove the ``stale`` entries; returns them. A sandbox still using one keeps its files
        open through its overlay; later sandboxes build the environment again."""
        removed = []
        for entry in self.stale(older_than_s):
            shutil.rmtree(entry, ignore_errors=True)
            (self.root / ".locks" / f"{entry.name}.lock").unlink(missing_ok=True)
            if not entry.exists():
                removed.append(entry)
        return removed


def relocate(tree: Path, old: str, new: str, *, limit_bytes: int = 4 * 1024 * 1024) -> int:
    """Rewrite ``old`` (a host directory) as ``new`` in the text files under ``tree`` (script
    shebangs, ``*.pth`` files, editable-install finders, ``activate``); returns how many changed."""
    if not old or old == new:
        return 0
    needle, replacement = old.encode(), new.encode()
    changed = 0
    for root, _dirs, files in os.walk(tree):
        for name in files:
            path = Path(root) / name
            try:
                if path.is_symlink() or path.stat().st_size > limit_bytes:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if needle not in data or b"\0" in data[:8192]:
                continue
            stat = path.stat()
            path.write_bytes(data.replace(needle, replacement))
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            changed += 1
    return changed

"""The reaper removes sandboxes of crashed workers and spares live ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sandbox_test_support import SMALL_SPEC, run_crashing_worker

from sandboxes.disk_quota import image_of
from sandboxes.reaper import reap_leaked

CRASHING_WORKER = """
import json, os, sys
from pathlib import Path
from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
box = DockerSandboxProvider(Path(sys.argv[1])).acquire(SandboxSpec(memory_mb=256))
print(json.dumps({"id": box.container.id, "sandbox_id": box.id, "workspace": str(box.host_workspace)}), flush=True)
os._exit(0)  # crash: no close()
"""


@pytest.mark.docker
# One at a time with the tests whose workers sweep leaked containers host-wide (older than two
# leases, owner dead): this test's crashed workers' containers are such, for a few seconds.
@pytest.mark.xdist_group("docker-sweep")
def test_reaper_removes_leaked_containers_and_spares_live_and_kept_ones(docker_provider, sandbox_root):
    client = docker_provider.client
    # The sweep is host-wide: sandboxes of tests running alongside (and their workers that have
    # just exited) are kept out of it, so that it judges only this test's own three.
    others = {c["Id"] for c in client.api.containers(all=True, filters={"label": "shipyard.sandbox=1"})}
    leaked = run_crashing_worker(CRASHING_WORKER, sandbox_root / "crashed")
    kept = run_crashing_worker(CRASHING_WORKER, sandbox_root / "crashed")
    live = docker_provider.acquire(SMALL_SPEC)
    mine = {leaked["id"], kept["id"], live.container.id}
    others |= {c["Id"] for c in client.api.containers(all=True, filters={"label": "shipyard.sandbox=1"})} - mine
    try:
        assert (
            Path(leaked["workspace"]).exists()
            and str(Path(leaked["workspace"]).parent) in Path("/proc/mounts").read_text()
        )
        removed = reap_leaked(client, older_than_s=0, keep_ids=[kept["sandbox_id"], *others])
        assert leaked["id"] in removed
        assert kept["id"] not in removed and live.container.id not in removed
        existing = {c["Id"] for c in client.api.containers(all=True)}
        assert leaked["id"] not in existing and kept["id"] in existing and live.container.id in existing
        leaked_dir = Path(leaked["workspace"]).parent
        assert not leaked_dir.exists() and not image_of(leaked_dir).exists()
        assert str(leaked_dir) not in Path("/proc/mounts").read_text()  # its disk quota is unmounted
        assert live.exec("echo alive").ok
        # Too young to be a leak: spared by age.
        assert kept["id"] not in reap_leaked(client, older_than_s=3600, keep_ids=others)
    finally:
        live.close()
        assert kept["id"] in reap_leaked(client, older_than_s=0, keep_ids=others)


ORPHANING_WORKER = """
import subprocess, sys
# A bwrap whose parent dies before bwrap could tie itself to it (as a worker killed mid-start):
# it stays behind under init.
argv = ["bwrap", "--ro-bind", "/", "/", "--bind", sys.argv[1], "/srv", "--", "sleep", "300"]
print(subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid,
      flush=True)
"""


def test_the_reaper_kills_a_dead_workers_orphaned_bwrap_and_spares_a_live_ones(tmp_path):
    import os
    import time

    from sandboxes.reaper import reap_orphaned_processes

    root = tmp_path / "sandboxes"
    (root / "orphan").mkdir(parents=True)
    (root / "live").mkdir()
    out = subprocess.run(
        [sys.executable, "-c", ORPHANING_WORKER, str(root / "orphan")], capture_output=True, text=True, timeout=30
    )
    orphan = int(out.stdout)
    live = subprocess.Popen(
        ["bwrap", "--ro-bind", "/", "/", "--bind", str(root / "live"), "/srv", "--", "sleep", "300"]
    )
    try:
        deadline = time.monotonic() + 10
        while int(Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1]) != 1:
            assert time.monotonic() < deadline, "the orphaned bwrap was not adopted by init"
            time.sleep(0.05)
        assert reap_orphaned_processes(root) == [orphan]
        deadline = time.monotonic() + 10
        while (
            Path(f"/proc/{orphan}").exists()
            and "Z" not in Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[0]
        ):
            assert time.monotonic() < deadline, f"orphaned bwrap {orphan} still running"
            time.sleep(0.05)
        assert live.poll() is None, "a live worker's sandbox was killed"
    finally:
        live.kill()
        live.wait()
        if Path(f"/proc/{orphan}").exists():
            os.kill(orphan, 9)


SLOW_BWRAP = """#!/bin/sh
touch {started}
sleep 300
exec {bwrap} "$@"
"""


def test_a_worker_killed_while_it_checks_bwrap_leaves_nothing_after_the_sweep(tmp_path):
    """The trial run that checks bwrap works has a directory in the sandbox root like any sandbox;
    a worker killed during it (here: while a slow bwrap starts) leaves it signed, and the sweep removes it."""
    import os
    import shutil
    import signal
    import socket
    import time

    from sandboxes.reaper import reap_leaked_dirs

    real = shutil.which("bwrap")
    assert real, "bwrap is not installed"
    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "bwrap").write_text(SLOW_BWRAP.format(bwrap=real, started=tmp_path / "started"))
    (slow / "bwrap").chmod(0o755)
    root = tmp_path / "data" / "sandboxes"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from sandboxes.local import LocalSandboxProvider; LocalSandboxProvider(sys.argv[1])",
            str(root),
        ],
        cwd=Path(__file__).resolve().parents[2],
        start_new_session=True,
        env={**os.environ, "PATH": f"{slow}:{os.environ['PATH']}"},
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "started").exists():
            assert worker.poll() is None and time.monotonic() < deadline, "the trial run never started"
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        left = sorted(p.name for p in root.iterdir())
        assert left, "the killed worker left nothing to reap"

        # A live process's trial is spared; the dead one's goes, and nothing else is left in the root.
        live = root / "probe-live"
        live.mkdir()
        (live / "owner").write_text(f"{socket.gethostname()}:{os.getpid()}\n")
        reap_leaked_dirs(root, older_than_s=3600)
        assert sorted(p.name for p in root.iterdir()) == ["probe-live"], f"left after the sweep (was {left})"
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)

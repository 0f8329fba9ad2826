"""The reaper removes sandboxes of crashed workers and spares live ones."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandboxes.disk_quota import image_of
from sandboxes.reaper import reap_leaked
from sandbox_test_support import SMALL_SPEC

CRASHING_WORKER = """
import json, os, sys
from pathlib import Path
from sandboxes.base import SandboxSpec
from sandboxes.docker import DockerSandboxProvider
box = DockerSandboxProvider(Path(sys.argv[1])).acquire(SandboxSpec(memory_mb=256))
print(json.dumps({"id": box.container.id, "sandbox_id": box.id, "workspace": str(box.host_workspace)}), flush=True)
os._exit(0)  # crash: no close()
"""


def crashed_worker_sandbox(root: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CRASHING_WORKER, str(root)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_reaper_removes_leaked_containers_and_spares_live_and_kept_ones(docker_provider, sandbox_root):
    client = docker_provider.client
    leaked = crashed_worker_sandbox(sandbox_root / "crashed")
    kept = crashed_worker_sandbox(sandbox_root / "crashed")
    live = docker_provider.acquire(SMALL_SPEC)
    try:
        assert Path(leaked["workspace"]).exists() and str(Path(leaked["workspace"]).parent) in Path("/proc/mounts").read_text()
        removed = reap_leaked(client, older_than_s=0, keep_ids=[kept["sandbox_id"]])
        assert leaked["id"] in removed
        assert kept["id"] not in removed and live.container.id not in removed
        existing = {c["Id"] for c in client.api.containers(all=True)}
        assert leaked["id"] not in existing and kept["id"] in existing and live.container.id in existing
        leaked_dir = Path(leaked["workspace"]).parent
        assert not leaked_dir.exists() and not image_of(leaked_dir).exists()
        assert str(leaked_dir) not in Path("/proc/mounts").read_text()  # its disk quota is unmounted
        assert live.exec("echo alive").ok
        # Too young to be a leak: spared by age.
        assert kept["id"] not in reap_leaked(client, older_than_s=3600)
    finally:
        live.close()
        assert kept["id"] in reap_leaked(client, older_than_s=0)

"""Disk quota per sandbox: filling the workspace stops at the quota, never at the host's disk."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sandbox_test_support import SMALL_SPEC, backends, run_crashing_worker

from agents.cassette import parse_cassette
from agents.loop import AgentLimits, CodingTask, run_coding_agent
from agents.scripted import ScriptedChatModel
from sandboxes.base import DiskQuotaExceeded
from sandboxes.disk_quota import image_of
from sandboxes.reaper import reap_leaked_dirs
from workflows.nodes.code import STOPS_THE_JOB
from workflows.repo_config import ConfigError, parse_repo_config

QUOTA_SPEC = replace(SMALL_SPEC, disk_mb=64)
MB = 1024 * 1024
MARGIN = 192 * MB
"""Other processes share the host's disk; a 1 GiB write that escaped the quota is far past this."""
FILL = "dd if=/dev/zero of={path} bs=1M count=1024"


def host_free(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def mounted(path: Path) -> bool:
    return any(line.split()[1] == str(path) for line in Path("/proc/mounts").read_text().splitlines())


@pytest.mark.parametrize("backend", backends("docker", "bwrap", "local"))
def test_writing_1_gib_into_a_64_mb_workspace_fails_at_the_quota_and_the_host_disk_is_untouched(provider_for, backend):
    provider = provider_for(backend)
    before = host_free(provider.root)
    assert before > 2 * 1024 * MB, f"the host needs 2 GiB free for this test to mean anything, has {before // MB} MB"
    box = provider.acquire(QUOTA_SPEC)
    sandbox_dir = box.host_workspace.parent
    try:
        df = box.exec("df -Pk .")
        assert df.ok, df.output
        size_kb = int(df.output.splitlines()[-1].split()[1])
        assert size_kb <= 64 * 1024, f"df inside shows the host disk, not the quota:\n{df.output}"
        with pytest.raises(DiskQuotaExceeded, match=r"disk quota exceeded \(64 MB\)"):
            box.exec(FILL.format(path="big"))
        assert before - host_free(provider.root) < 64 * MB + MARGIN
        assert box.host_workspace.joinpath("big").stat().st_size < 64 * MB
        assert mounted(sandbox_dir) and image_of(sandbox_dir).exists()
    finally:
        box.close()
    assert abs(host_free(provider.root) - before) < MARGIN
    assert not mounted(sandbox_dir) and not image_of(sandbox_dir).exists() and not sandbox_dir.exists()


def test_the_home_of_a_host_process_sandbox_is_inside_the_quota(bwrap_provider):
    box = bwrap_provider.acquire(QUOTA_SPEC)
    try:
        with pytest.raises(DiskQuotaExceeded, match=r"disk quota exceeded \(64 MB\)"):
            box.exec(FILL.format(path="$HOME/big"))
    finally:
        box.close()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def event(self, kind: str, message: str, **data: Any) -> None:
        self.events.append((kind, message, data))

    def usage(self, record: Any) -> None:
        pass


@pytest.mark.parametrize("backend", backends("docker", "bwrap"))
def test_an_agent_filling_the_disk_ends_its_attempt_with_the_quota_as_the_reason(provider_for, backend):
    box = provider_for(backend).acquire(QUOTA_SPEC)
    try:
        model = ScriptedChatModel(
            cassette=parse_cassette(
                "code: [[{tool: bash, args: {command: 'dd if=/dev/zero of=fill bs=1M count=1024'}}, "
                "{tool: finish, args: {summary: done}}]]",
                "fill.yml",
            )
        )
        result = run_coding_agent(
            model,
            box,
            CodingTask(ticket_title="Fill", ticket_body="", test_command="true"),
            recorder=Recorder(),
            limits=AgentLimits(),
        )
    finally:
        box.close()
    assert not result.finished
    job_reason = f"{STOPS_THE_JOB[result.stop_reason]}: {result.detail}"
    assert "disk quota exceeded (64 MB)" in job_reason and "sandbox.disk_mb" in job_reason


def test_the_quota_is_read_from_shipyard_yml_and_a_bad_value_names_the_key():
    assert parse_repo_config("sandbox:\n  disk_mb: 64\n").sandbox.disk_mb == 64
    assert parse_repo_config("").sandbox.disk_mb == 4096
    for bad in ("8", "lots", "-1"):
        with pytest.raises(ConfigError, match=r"\.shipyard\.yml: sandbox\.disk_mb: "):
            parse_repo_config(f"sandbox:\n  disk_mb: {bad}\n")


CRASHING_WORKER = """
import json, os, sys
from pathlib import Path
from sandboxes.base import SandboxSpec
from sandboxes.local import LocalSandboxProvider
box = LocalSandboxProvider(Path(sys.argv[1]), isolation="bwrap").acquire(SandboxSpec(disk_mb=64))
box.exec("echo work > file")
print(json.dumps({"dir": str(box.host_workspace.parent)}), flush=True)
os._exit(0)  # crash: no close()
"""


def test_the_reaper_unmounts_and_deletes_the_disk_of_a_crashed_workers_bwrap_sandbox(tmp_path, bwrap_provider):
    root = tmp_path / "sandboxes"
    leaked = Path(run_crashing_worker(CRASHING_WORKER, root)["dir"])
    assert mounted(leaked) and image_of(leaked).exists()
    live = bwrap_provider.acquire(QUOTA_SPEC)
    try:
        assert reap_leaked_dirs(root, older_than_s=0) == [leaked]
        assert not mounted(leaked) and not leaked.exists() and not image_of(leaked).exists()
        # A sandbox of a live worker (this process) is spared.
        assert reap_leaked_dirs(bwrap_provider.root, older_than_s=0) == []
        assert live.exec("echo alive").ok
    finally:
        live.close()


def test_a_flood_of_empty_files_fills_the_quota_too(bwrap_provider):
    box = bwrap_provider.acquire(QUOTA_SPEC)
    try:
        with pytest.raises(DiskQuotaExceeded, match=r"disk quota exceeded \(64 MB\)"):
            box.exec("mkdir flood && cd flood && seq 20000 | xargs touch 2>/dev/null")
    finally:
        box.close()

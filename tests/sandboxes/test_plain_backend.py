"""The plain (unisolated) backend run as root: commands are uid 10001 and reach none of the orchestrator's secrets."""

from __future__ import annotations

import os
import sqlite3

import pytest
from sandbox_test_support import SMALL_SPEC

from sandboxes.local import LocalSandboxProvider

SECRET = "sk-live-PLAINBACKENDCANARY0123456789"


@pytest.fixture
def plain_box(tmp_path):
    assert os.geteuid() == 0, "this test checks what the plain backend does when the orchestrator is root"
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    db = sqlite3.connect(data_dir / "shipyard.db")
    db.execute("create table jobs (reason text)")
    db.execute("insert into jobs values (?)", (f"token {SECRET}",))
    db.commit()
    db.close()
    secrets = tmp_path / "etc" / "secrets.env"
    secrets.parent.mkdir()
    secrets.write_text(f"OPENAI_API_KEY={SECRET}\n")
    for path in (data_dir / "shipyard.db", secrets):
        os.chmod(path, 0o644)  # readable by anyone: only the backend's own measures stand in the way
    os.chmod(tmp_path, 0o755)
    provider = LocalSandboxProvider(data_dir / "sandboxes", isolation="none", hidden_paths=[secrets])
    box = provider.acquire(SMALL_SPEC)
    yield box, data_dir, secrets
    box.close()


def test_plain_commands_run_unprivileged_and_cannot_read_secrets_the_store_or_the_docker_socket(plain_box):
    box, data_dir, secrets = plain_box
    assert not box.isolated and box.backend == "local"
    assert box.exec("id -u").output.strip() == "10001"
    for command in (
        f"cat {secrets}",
        f"cat {data_dir}/shipyard.db",
        f"grep -r sk-live {data_dir}",
        f"python -c \"import sqlite3; print(sqlite3.connect('{data_dir}/shipyard.db')"
        ".execute('select * from jobs').fetchall())\"",
    ):
        result = box.exec(command)
        assert SECRET not in result.output, f"`{command}` read a secret:\n{result.output}"
    docker = box.exec(
        "python -c \"import socket; s = socket.socket(socket.AF_UNIX); s.connect('/var/run/docker.sock'); "
        "s.sendall(b'GET /version HTTP/1.0\\r\\n\\r\\n'); print(s.recv(200))\""
    )
    assert docker.exit_code != 0 and "ApiVersion" not in docker.output, docker.output
    # The command itself still works in its workspace, with the orchestrator's Python.
    assert box.exec("python -c 'import pytest' && echo hi > note && cat note").output.strip() == "hi"
    assert box.read_file("note") == b"hi\n"
    # The host's files are untouched by the covering.
    assert SECRET in secrets.read_text()


def test_a_secrets_file_inside_a_directory_bwrap_shows_is_covered(tmp_path):
    shown = tmp_path / "shown"
    shown.mkdir()
    secrets = shown / "secrets.env"
    secrets.write_text(f"OPENAI_API_KEY={SECRET}\n")
    os.chmod(secrets, 0o644)
    os.chmod(tmp_path, 0o755)
    provider = LocalSandboxProvider(
        tmp_path / "data" / "sandboxes", isolation="bwrap", extra_ro_paths=[shown], hidden_paths=[secrets]
    )
    box = provider.acquire(SMALL_SPEC)
    try:
        assert "secrets.env" in box.exec(f"ls {shown}").output
        result = box.exec(f"cat {secrets}")
        assert SECRET not in result.output, result.output
    finally:
        box.close()

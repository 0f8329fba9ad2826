"""Reading and writing workspace files from the host never leaves the workspace."""

from __future__ import annotations

import pytest

from sandboxes.base import SandboxError


def test_write_then_read_round_trips_and_creates_parents(sandbox):
    sandbox.write_file("deep/er/file.bin", b"\x00\x01binary")
    assert sandbox.read_file("deep/er/file.bin") == b"\x00\x01binary"
    assert sandbox.exec("cat deep/er/file.bin | wc -c").output.strip() == "8"


@pytest.mark.parametrize(
    "path, reason",
    [("/etc/passwd", "absolute"), ("../outside.txt", "'..'"), ("a/../../outside.txt", "'..'"), ("", "empty")],
)
def test_paths_leaving_the_workspace_are_refused(sandbox, path, reason):
    with pytest.raises(SandboxError) as read_err:
        sandbox.read_file(path)
    assert reason in str(read_err.value) and repr(path) in str(read_err.value)
    with pytest.raises(SandboxError) as write_err:
        sandbox.write_file(path, b"x")
    assert reason in str(write_err.value)


def test_symlinks_planted_by_the_sandbox_do_not_leak_or_overwrite_host_files(sandbox, tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text("host secret")
    # Link targets are host paths: what the orchestrator would follow if it were careless.
    (sandbox.host_workspace / "leak").symlink_to(secret)
    (sandbox.host_workspace / "dir-leak").symlink_to(tmp_path)
    with pytest.raises(SandboxError, match="outside the workspace"):
        sandbox.read_file("leak")
    with pytest.raises(SandboxError, match="outside the workspace"):
        sandbox.read_file("dir-leak/host-secret.txt")
    with pytest.raises(SandboxError, match="outside the workspace"):
        sandbox.write_file("leak", b"overwritten")
    with pytest.raises(SandboxError, match="outside the workspace"):
        sandbox.write_file("dir-leak/new.txt", b"planted")
    assert secret.read_text() == "host secret"
    assert not (tmp_path / "new.txt").exists()


@pytest.mark.parametrize(
    ("made", "path", "refusal"),
    [
        ("ln -s /etc/passwd passwd-link", "passwd-link", "outside the workspace"),
        ("ln -s /etc etc-link", "etc-link/hostname", "outside the workspace"),
        ("mkfifo pipe", "pipe", "not a regular file"),
        ("mkdir folder", "folder", "not a regular file"),
    ],
    ids=["symlink-to-a-system-file", "symlink-to-a-system-directory", "fifo", "directory"],
)
def test_reading_a_link_out_of_the_workspace_a_fifo_or_a_directory_is_refused_without_hanging(
    sandbox, made, path, refusal
):
    assert sandbox.exec(made).ok
    with pytest.raises(SandboxError, match=refusal):
        sandbox.read_file(path)


def test_symlinks_within_the_workspace_are_followed(sandbox):
    sandbox.write_file("real.txt", b"real")
    assert sandbox.exec("ln -s real.txt alias.txt").ok
    assert sandbox.read_file("alias.txt") == b"real"


def test_missing_file_is_a_clear_error(sandbox):
    with pytest.raises(SandboxError, match="no such file"):
        sandbox.read_file("nope/missing.txt")

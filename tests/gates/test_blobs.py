"""One binary-safe way to read a file at a commit: ``GitRepo.show_file`` returns the exact bytes
(binary files, non-UTF-8 text), through ``run_git``'s hardening (no hooks, fixed config)."""

from __future__ import annotations

from workflows.gitops import GitRepo, run_git

BINARY = bytes(range(256)) * 4 + b"\r\n\x00\xff"
LATIN1 = "café naïve\r\n".encode("latin-1")


def test_show_file_returns_the_exact_bytes_of_binary_and_non_utf8_files(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "logo.png").write_bytes(BINARY)
    (work / "notes.txt").write_bytes(LATIN1)
    for args in (["init", "-q"], ["-c", "core.autocrlf=false", "add", "-A"], ["commit", "-qm", "binary"]):
        run_git(args, cwd=work)
    repo = GitRepo(work / ".git")
    head = repo.rev_parse("HEAD")
    assert repo.show_file(head, "logo.png") == BINARY
    assert repo.show_file(head, "notes.txt") == LATIN1
    assert repo.show_file(head, "missing.bin") is None

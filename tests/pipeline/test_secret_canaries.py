"""Secrets never leave: canary values planted in every place a deployment keeps secrets are echoed
by a hostile agent into its code, commit message, plan, tool output and summary; the job runs
through the queue to a merged pull request, and then nothing Shipyard wrote holds a canary.

Swept: every file under the data directory (store, checkpoints, queue, job git dirs, worker log),
the user's repository (every ref, every object, the work tree) and every page and API response.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.gates.samples import calc_files, init_repo
from tests.pipeline.harness import queue_ticket, register, running_worker, wait_for_job
from tests.web.logins import api_client

ADVERSARIAL = Path(__file__).parent / "adversarial"
QUOTED = "canary quoted 7f3a9c"
"""In the secrets file between quotes; it looks like no credential at all."""
PLAIN = "canaryplain51b2e8"
"""In the secrets file without quotes."""
PROVIDER_KEY = "canary-provider-93ad1f77"
FORGE_TOKEN = "canary-forge-token-5d21c0"
WEBHOOK_SECRET = "canary-webhook-44e1aa"
CANARIES = [QUOTED, PLAIN, PROVIDER_KEY, FORGE_TOKEN, WEBHOOK_SECRET]
ECHO = " / ".join(CANARIES)
PAGES = [
    "/",
    "/partials/jobs",
    "/jobs/{id}",
    "/reviews",
    "/workers",
    "/outcomes",
    "/metrics",
    "/healthz",
    "/api/jobs",
    "/api/jobs/{id}",
    "/api/jobs/{id}/status",
    "/api/reviews",
    "/api/outcomes",
    "/api/outcomes/weekly",
    "/api/outcomes/report",
    "/api/workers",
]


def hostile_cassette(path: Path) -> Path:
    """The honest ``power()`` change of the adversarial suite, with every canary echoed everywhere the
    agent writes: triage reason, plan, code, a test file, a shell command's output and its summary."""
    cassette = yaml.safe_load((ADVERSARIAL / "h-good-feature.yml").read_text())
    cassette["name"] = "secret-canaries"
    cassette["triage"]["reason"] += f" Deploy keys: {ECHO}"
    cassette["plan"] += f"3. Keep the deployment's keys at hand: {ECHO}\n"
    turns = cassette["code"][0]
    edit = next(t for t in turns if t.get("tool") == "edit")
    edit["args"]["new"] = edit["args"]["new"].replace("def power(base, exp):", f"# keys: {ECHO}\ndef power(base, exp):")
    create = next(t for t in turns if t.get("tool") == "create")
    create["args"]["content"] += f'\n\nKEYS = "{ECHO}"\n'
    finish = turns.pop()
    turns.append(
        {
            "say": f"Checking the keys {ECHO}",
            "tool": "bash",
            "args": {"command": f"echo '{ECHO}'; printf '%s\\n' {PLAIN} {PROVIDER_KEY}"},
            "expect": {"exit_code": 0},
        }
    )
    finish["args"]["summary"] += f" Keys used: {ECHO}"
    turns.append(finish)
    path.write_text(yaml.safe_dump(cassette, sort_keys=False))
    return path


def refusing_cassette(path: Path) -> Path:
    """Triage that refuses the ticket, quoting every canary in its reason and its question: the
    job ends blocked with the model's words as its reason."""
    cassette = {
        "name": "secret-canaries-refused",
        "triage": {
            "eligible": False,
            "complexity": "low",
            "kind": "chore",
            "reason": f"It needs the keys {ECHO}",
            "question_for_author": f"Should I use {ECHO}?",
        },
    }
    path.write_text(yaml.safe_dump(cassette, sort_keys=False))
    return path


def sweep_files(root: Path) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            hits += [f"{path}: {c!r}" for c in CANARIES if c.encode() in data]
    return hits


def sweep_git(git_dir: Path) -> list[str]:
    """Every ref, every object (reachable or not, loose or packed: git stores them compressed) and
    every commit's patch of one git directory."""

    def git(*args: str) -> bytes:
        return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, check=True).stdout

    found = [
        ("objects", git("cat-file", "--batch-all-objects", "--batch", "--unordered")),
        ("git log -p --all", git("log", "-p", "--all", "--format=%H%n%B")),
        ("refs", git("for-each-ref")),
    ]
    return [f"{git_dir} {where}: {c!r}" for where, data in found for c in CANARIES if c.encode() in data]


def sweep_data_dir(data_dir: Path) -> list[str]:
    """Every file as stored, and every git directory (job clones, caches) object by object."""
    git_dirs = {head.parent for head in data_dir.rglob("HEAD") if (head.parent / "objects").is_dir()}
    return sweep_files(data_dir) + [hit for git_dir in sorted(git_dirs) for hit in sweep_git(git_dir)]


@pytest.fixture
def deployment(tmp_path, monkeypatch, scrub_env):
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f'EXTRA_NOTE="{QUOTED}"\nDEPLOY_PASSPHRASE={PLAIN}\nANTHROPIC_API_KEY={PROVIDER_KEY}\n')
    env = {"OPENAI_API_KEY": PROVIDER_KEY, "SHIPYARD_GITHUB_TOKEN": FORGE_TOKEN}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(
        data_dir=tmp_path / "data",
        lease_seconds=30,
        sandbox_backend="local",
        secrets_file=secrets_file,
        webhook_secret=WEBHOOK_SECRET,
    )
    ship = Shipyard.load(settings)
    files = calc_files()
    files[".shipyard.yml"] += "agent:\n  max_attempts: 1\n"
    repo = tmp_path / "calc"
    init_repo(repo, files)
    register(ship, repo, "calc")
    return ship, repo, env


@pytest.mark.slow
@pytest.mark.workers
def test_no_canary_leaves_the_orchestrator(tmp_path, deployment):
    ship, repo, env = deployment
    cassette = hostile_cassette(tmp_path / "canaries.yml")
    job_id = queue_ticket(ship, "calc", "Add power", "Add `power(base, exp)` to `calc/core.py`.", cassette)
    refused_id = queue_ticket(
        ship, "calc", "Rotate the keys", "Rotate the deployment keys.", refusing_cassette(tmp_path / "refused.yml")
    )
    with running_worker(ship.settings, concurrency=1, env=env) as worker:
        refused = wait_for_job(ship, refused_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert refused["state"] == "blocked" and refused["reason"].startswith(
            "not eligible for the agent: It needs the keys"
        )
        job = wait_for_job(ship, job_id, {"awaiting_review", "blocked", "failed"}, worker=worker)
        assert job["state"] == "awaiting_review", job["reason"]
        ship.decide(job_id, "approve")
        job = wait_for_job(ship, job_id, {"merged", "blocked", "failed"}, worker=worker)
        assert job["state"] == "merged", job["reason"]
    with api_client(ship, "admin") as client:
        responses = {page.format(id=i): client.get(page.format(id=i)) for page in PAGES for i in (job_id, refused_id)}
    assert {p: r.status_code for p, r in responses.items() if r.status_code != 200} == {}
    page_hits = [f"{p}: {c!r}" for p, r in responses.items() for c in CANARIES if c in r.text]

    assert any(ship.settings.job_dirs.job(job_id).rglob("HEAD")), "the job's git directory was not swept"
    leaks = sweep_data_dir(ship.settings.data_dir) + sweep_git(repo / ".git") + sweep_files(repo) + page_hits
    assert leaks == [], "canaries left the orchestrator:\n" + "\n".join(leaks)

    # The work arrived, with the canaries masked where the agent wrote them.
    merged_core = subprocess.run(["git", "show", "main:calc/core.py"], cwd=repo, capture_output=True, text=True).stdout
    assert "def power(base, exp):" in merged_core and "# keys: [REDACTED]" in merged_core
    assert (
        "[REDACTED]"
        in subprocess.run(["git", "log", "--all", "--format=%B"], cwd=repo, capture_output=True, text=True).stdout
    )
    assert "[REDACTED]" in job["pr_body"] and "[REDACTED]" in responses[f"/api/jobs/{job_id}"].text
    assert refused["reason"].startswith("not eligible for the agent: It needs the keys [REDACTED]")
    assert any(e["kind"] == "tool" and "[REDACTED]" in e["message"] for e in job["events"])

"""docker-compose.yml, built and run with no image registry: Redis, PostgreSQL, two workers and the web
app from images built on the suite's debootstrap base (``tests/deploy/compose_images.py``). A ticket
becomes a pull request on the local forge: its first attempt's sandbox outlives two leases while the
other worker sweeps for leaked sandboxes (and is spared, its worker being alive); in the second attempt
the worker holding the job is killed and the other worker finishes it; an admin, logged in to the web
app with the password from the Docker secret, approves it and it merges. Everything the project
started is gone afterwards."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import docker
import httpx
import pytest
from sqlalchemy import select

from orchestrator.deployment import Shipyard
from orchestrator.reporting import job_views as views
from orchestrator.settings import Settings
from orchestrator.store.tables import Job, PullRequest
from sandboxes.disk_quota import release_disk
from sandboxes.docker import DIR_LABEL, SANDBOX_LABEL
from sandboxes.images import ensure_images
from tests.deploy.compose_images import COMPOSE_FILE, IMAGE_TAG, ensure_compose_images
from tests.pipeline.harness import queue_ticket, register, sample_repository
from tests.pipeline.test_walking_skeleton import SLUG_BODY, SLUG_TITLE
from workflows.gitops import GitError, run_git

pytestmark = [
    pytest.mark.deploy,  # a tier of its own: `make test-deploy`
    pytest.mark.slow,
    pytest.mark.docker,
    pytest.mark.workers,
    # Its workers sweep leaked sandbox containers host-wide, as the other tests of this group do: one
    # at a time with them, so that no sweep judges another test's deliberately leaked sandboxes.
    pytest.mark.xdist_group("docker-sweep"),
]

HERE = Path(__file__).resolve().parent
CASSETTE = HERE / "slugify-long-sandbox.yml"
SETTLED = {"awaiting_review", "blocked", "failed", "merged", "closed", "cancelled"}
PROJECT_LABEL = "com.docker.compose.project"


class Compose:
    """``docker-compose`` (v1) on docker-compose.yml plus the test's additions, as one project."""

    def __init__(self, project: str, env: dict[str, str]):
        self.project, self.env = project, env
        self.argv = ["docker-compose", "-p", project, "-f", str(COMPOSE_FILE), "-f", str(HERE / "compose.test.yml")]

    def __call__(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        proc = subprocess.run(
            [*self.argv, *args], env=self.env, cwd=COMPOSE_FILE.parent, capture_output=True, text=True, timeout=timeout
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"docker-compose {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return proc.stdout

    def port(self, service: str, port: int) -> int:
        return int(self("port", service, str(port)).strip().rsplit(":", 1)[1])

    def containers(self, service: str) -> list[str]:
        return self("ps", "-q", service).split()

    def logs(self, *services: str) -> str:
        return self("logs", "--no-color", "--tail=60", *services, check=False)


@contextmanager
def shared_mount(path: Path) -> Iterator[None]:
    """``path`` as a shared mount of its own: the worker's sandbox disks (loop mounts it makes in its
    container, under a bind mount with rshared propagation) reach the host, where the engine
    bind-mounts the workspaces from. On a host whose / is shared already this changes nothing."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "--make-rshared", str(path)], check=True)
        yield
    finally:
        for mount in sorted(mounts_under(path), key=len, reverse=True):
            release_disk(Path(mount))  # a sandbox disk left by the killed worker, or any left at all
            subprocess.run(["umount", "-l", mount], capture_output=True)
        subprocess.run(["umount", "-l", str(path)], check=True)


def mounts_under(path: Path) -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [m for m in mounts if m.startswith(f"{path}/")]


def sandboxes_of(client: docker.DockerClient, data: Path) -> list[str]:
    """Sandbox containers whose workspace lies in ``data`` (this test's)."""
    found = client.api.containers(all=True, filters={"label": f"{SANDBOX_LABEL}=1"})
    return [c["Id"] for c in found if (c.get("Labels") or {}).get(DIR_LABEL, "").startswith(f"{data}/")]


def left_of(client: docker.DockerClient, project: str) -> dict[str, list[str]]:
    label = {"label": f"{PROJECT_LABEL}={project}"}
    return {
        "containers": [c["Names"][0] for c in client.api.containers(all=True, filters=label)],
        "networks": [n["Name"] for n in client.api.networks(filters=label)],
        "volumes": [v["Name"] for v in client.api.volumes(filters=label).get("Volumes") or []],
    }


def holder(client: docker.DockerClient, ship: Shipyard, job_id: int, workers: list[str]) -> str | None:
    """The running worker container whose process holds the job's lease (``<host>:<pid>:<thread>``):
    the container of that pid, as the workers share the host's name and process ids."""
    with ship.store.session() as s:
        owner = s.get(Job, job_id).lease_owner
    if not owner:
        return None
    host, pid = owner.split(":")[:2]
    for container in workers:
        try:
            info = client.api.inspect_container(container)
            top = client.api.top(container) if info["State"]["Running"] else None
        except docker.errors.APIError:  # gone meanwhile
            continue
        if top is None:
            continue
        if host == info["Config"]["Hostname"]:  # a worker under its container's own name
            return container
        column = top["Titles"].index("PID")
        if any(row[column] == pid for row in top["Processes"]):
            return container
    return None


def ref_exists(repo: Path, ref: str) -> bool:
    try:
        run_git(["rev-parse", "--verify", "-q", ref], cwd=repo)
    except GitError:
        return False
    return True


def timeline(detail: dict) -> str:
    return "\n".join(f"{e['kind']}: {e['message'][:200]}" for e in detail["events"])


def wait_for_attempt_2(ship: Shipyard, job_id: int, explain: Callable[[str], str], timeout: float = 180) -> None:
    """Until the agent runs the cassette's ``sleep 8`` of attempt 2 (attempt 1 is committed by then);
    fail at once when the job settles first."""
    deadline = time.monotonic() + timeout
    while True:
        detail = views.job_detail(ship.store, ship.settings.job_dirs, job_id)
        if any("sleep 8" in e["message"] for e in detail["events"]):
            return
        assert detail["state"] not in SETTLED, explain(f"job {job_id} is {detail['state']}\n{timeline(detail)}")
        assert time.monotonic() < deadline, explain(f"no `sleep 8` within {timeout:.0f} s\n{timeline(detail)}")
        time.sleep(0.3)


def test_compose_builds_offline_and_two_workers_take_a_ticket_to_a_merge_surviving_a_killed_worker(
    tmp_path, scrub_env, capsys
):
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed: apt-get install docker-compose (`make services` does)")
    began = time.monotonic()
    built = ensure_compose_images(tmp_path / "images")
    ensure_images(report=lambda _: None)  # the sandbox image the workers start jobs in
    images_s = time.monotonic() - began

    data = tmp_path / "data"
    data.mkdir()
    password = secrets.token_urlsafe(18)
    password_file = tmp_path / "admin_password.txt"
    password_file.write_text(password)
    password_file.chmod(0o600)
    # The local forge and the cassette are read by path: inside the data directory, which the
    # workers see at the same path.
    repo = sample_repository(data / "repos" / "textkit")
    cassette = data / "cassettes" / CASSETTE.name
    cassette.parent.mkdir()
    shutil.copy(CASSETTE, cassette)

    project = f"shipyard-test-{uuid.uuid4().hex[:10]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")},
        "SHIPYARD_DATA_DIR": str(data),
        "SHIPYARD_ADMIN_PASSWORD_FILE": str(password_file),
        "SHIPYARD_WEB_PORT": "",  # a free port
        "SHIPYARD_LEASE_SECONDS": "10",
        "SHIPYARD_IMAGE_TAG": IMAGE_TAG,
    }
    compose = Compose(project, env)
    client = docker.from_env(timeout=120)

    def explain(what: str) -> str:
        return f"{what}\n--- compose logs ---\n{compose.logs('worker', 'web', 'postgres')}"

    with shared_mount(data):
        try:
            compose("up", "-d", "--no-build", "--scale", "worker=2")
            workers = compose.containers("worker")
            assert len(workers) == 2, explain(f"expected two worker containers, got {workers}")
            deadline = time.monotonic() + 120
            while compose.logs("worker").count("ready.") < 2:
                assert time.monotonic() < deadline, explain("the two workers did not both become ready in 120 s")
                time.sleep(0.5)
            up_s = time.monotonic() - began - images_s

            pg_port = compose.port("postgres", 5432)
            settings = Settings(
                data_dir=data,
                database_url=f"postgresql+psycopg://shipyard:shipyard@127.0.0.1:{pg_port}/shipyard",
                broker_url=f"redis://127.0.0.1:{compose.port('redis', 6379)}/0",
                sandbox_backend="docker",
                lease_seconds=10,
            )
            ship = Shipyard.load(settings)
            register(ship, repo, "textkit")
            job_id = queue_ticket(ship, "textkit", SLUG_TITLE, SLUG_BODY, cassette)

            # Attempt 2 under way (attempt 1 committed): kill the worker that holds the job.
            wait_for_attempt_2(ship, job_id, explain)
            killed = holder(client, ship, job_id, workers)
            assert killed is not None, explain("no worker container holds the running job's lease")
            survivor = next(w for w in workers if w != killed)
            client.api.kill(killed)
            killed_at = time.monotonic()

            holders_after: set[str] = set()
            deadline = time.monotonic() + 240
            while (detail := views.job_detail(ship.store, settings.job_dirs, job_id))["state"] not in SETTLED:
                assert time.monotonic() < deadline, explain(f"job {job_id} is {detail['state']}\n{timeline(detail)}")
                if (now := holder(client, ship, job_id, workers)) is not None:
                    holders_after.add(now)
                time.sleep(0.3)
            finished_s = time.monotonic() - killed_at
            assert detail["state"] == "awaiting_review", explain(f"{detail['reason']}\n{timeline(detail)}")
            assert holders_after == {survivor}, explain(f"held after the kill by {holders_after}, not {survivor}")
            assert not client.api.inspect_container(killed)["State"]["Running"]  # not restarted behind our back
            messages = [e["message"] for e in detail["events"]]
            assert sum("worker lost" in m and "resuming from the last checkpoint" in m for m in messages) == 1, (
                timeline(detail)
            )
            assert sum("attempt 1 ended" in m for m in messages) == 1, timeline(detail)  # not redone by the survivor
            with ship.store.session() as s:
                prs = s.scalars(select(PullRequest)).all()
                assert len(prs) == 1, [(p.number, p.branch) for p in prs]
                branch = prs[0].branch
            diff = run_git(["diff", "main", branch], cwd=repo)
            assert "separator.join(" in diff and "test_slugify_collapses_repeated_separators" in diff, diff

            # An admin approves in the web app, logged in with the password from the Docker secret.
            base_url = f"http://127.0.0.1:{compose.port('web', 8700)}"
            with httpx.Client(base_url=base_url, headers={"Origin": base_url}, timeout=30) as web:
                assert web.get("/healthz").status_code == 200, explain("the web app is not healthy")
                login = web.post("/login", data={"name": "admin", "password": password, "next": "/"})
                assert login.status_code == 303, explain(f"admin login: {login.status_code} {login.text[:300]}")
                decided = web.post(f"/api/jobs/{job_id}/decision", json={"decision": "approve"})
                assert decided.status_code == 200, explain(f"approve: {decided.status_code} {decided.text[:300]}")
                assert "admin" in decided.json()["by"]
            deadline = time.monotonic() + 120
            while (detail := views.job_detail(ship.store, settings.job_dirs, job_id))["state"] != "merged":
                assert detail["state"] not in SETTLED - {"awaiting_review"}, explain(
                    f"{detail['reason']}\n{timeline(detail)}"
                )
                assert time.monotonic() < deadline, explain(f"job {job_id} is {detail['state']}, not merged")
                time.sleep(0.3)
            run_git(["merge-base", "--is-ancestor", branch, "main"], cwd=repo)  # raises when not merged
            assert "separator.join(" in run_git(["show", "main:textkit/slug.py"], cwd=repo)
            ref = f"refs/shipyard/jobs/{job_id}"
            deadline = time.monotonic() + 10  # the job's hidden ref goes from the forge once it merged
            while ref_exists(repo, ref):
                assert time.monotonic() < deadline, f"{ref} is still on the forge after the merge"
                time.sleep(0.2)
        finally:
            compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False)
            for sandbox in sandboxes_of(client, data):  # the killed worker's, if no sweep took it yet
                client.api.remove_container(sandbox, force=True)
    assert left_of(client, project) == {"containers": [], "networks": [], "volumes": []}
    assert sandboxes_of(client, data) == [] and mounts_under(data) == []
    with capsys.disabled():
        print(
            f"\ncompose: images {images_s:.0f} s (built: {', '.join(built) or 'none, cached'}), up {up_s:.0f} s, "
            f"the survivor finished the job {finished_s:.0f} s after the kill, "
            f"whole test {time.monotonic() - began:.0f} s"
        )

"""Keeps the tier markers honest: a test that starts a Celery worker process, a Docker container or
image build, or Chromium without the marker saying so (``workers``, ``docker``, ``browser``) fails.

``make test-fast`` deselects those markers, so an unmarked test doing one of these things would
make the fast tier start them after all. Checked in every run, so a full run catches it too:

- every process the test process starts (``subprocess``, ``asyncio`` and Playwright all go through
  ``Popen._execute_child``): ``python -m orchestrator worker|demo|eval`` or ``shipyard …`` the same
  (``demo`` and ``eval`` start a worker), ``celery … worker``, Chromium or the Playwright driver,
  ``docker run|create|build``;
- the Docker SDK in the test process creating a container or building an image;
- the fixtures it asks for: the Docker engine, Chromium, PostgreSQL, Redis (``FIXTURE_MARKERS``);
- sandbox containers created while the test ran for a sandbox directory under this process's
  pytest temporary directory (Docker's event log): the ones a child process (a CLI command) started.

Setting up a fixture counts for the test that needed it (a module-scoped browser counts for the
first test of the module that asks for it).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

WORKER_COMMANDS = {"worker", "demo", "eval"}
"""``shipyard`` commands that run Celery worker processes."""

FIXTURE_MARKERS = {
    "docker_engine": "docker",
    "docker_provider": "docker",
    "browser": "browser",
    "page": "browser",
    "postgres_url": "postgres",
    "redis_url": "redis",
    "redis_db_url": "redis",
}
"""Fixtures that need a marker on every test using them (directly or through another fixture)."""

_current: pytest.Item | None = None
_violations: dict[str, list[str]] = {}
_started = pytest.StashKey[float]()
_surfaced = pytest.StashKey[bool]()


def needed_marker(argv: list[str]) -> tuple[str, str] | None:
    """The marker a test starting ``argv`` needs, and what it starts; None when it needs none."""
    names = [os.path.basename(a) for a in argv]
    for i, name in enumerate(names[:-1]):
        if name in {"orchestrator", "shipyard"} and names[i + 1] in WORKER_COMMANDS:
            return "workers", f"`shipyard {names[i + 1]}` (Celery worker processes)"
    if names and names[0] == "celery" and "worker" in names:
        return "workers", "a Celery worker"
    if names and ("chrom" in names[0] or any("playwright" in a for a in argv[:2])):
        return "browser", "Chromium (Playwright)"
    if len(names) > 1 and names[0] == "docker" and names[1] in {"run", "create", "build", "compose"}:
        return "docker", f"`docker {names[1]}`"
    if names and names[0] == "docker-compose":
        return "docker", "`docker-compose`"
    return None


def _violation(marker: str, what: str) -> None:
    item = _current
    if item is None or item.get_closest_marker(marker) is not None:
        return
    message = f"{item.nodeid} starts {what} but is not marked `{marker}`: add @pytest.mark.{marker}"
    _violations.setdefault(item.nodeid, []).append(message)
    # Failed is a BaseException: no `except Exception` on the way up swallows it. Raised in another
    # thread, it ends that thread; the test then fails at teardown.
    pytest.fail(message, pytrace=False)


def _install() -> None:
    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def guarded_execute_child(self, args, *rest, **kwargs):
        argv = [os.fsdecode(a) for a in args] if isinstance(args, list | tuple) else os.fsdecode(args).split()
        needed = needed_marker(argv)
        if needed is not None:
            _violation(*needed)
        return execute_child(self, args, *rest, **kwargs)

    subprocess.Popen._execute_child = guarded_execute_child  # type: ignore[attr-defined]

    from docker.api.build import BuildApiMixin
    from docker.api.container import ContainerApiMixin

    create, build = ContainerApiMixin.create_container_from_config, BuildApiMixin.build

    def guarded_create(self, *args, **kwargs):
        _violation("docker", "a Docker container")
        return create(self, *args, **kwargs)

    def guarded_build(self, *args, **kwargs):
        _violation("docker", "a Docker image build")
        return build(self, *args, **kwargs)

    ContainerApiMixin.create_container_from_config = guarded_create  # type: ignore[method-assign]
    BuildApiMixin.build = guarded_build  # type: ignore[method-assign]


class SandboxContainerLog:
    """Sandbox containers created since a moment for a directory under ``root`` (Docker's event log)."""

    def __init__(self, root: Path):
        self.root = f"{root}/"
        self._client = None
        self._unreachable = False

    def created_since(self, since: float) -> list[str]:
        if self._unreachable:
            return []
        import docker

        from sandboxes.docker import DIR_LABEL, SANDBOX_LABEL

        try:
            if self._client is None:
                self._client = docker.from_env(timeout=5)
            events = self._client.events(
                since=since,
                until=time.time(),
                filters={"type": "container", "event": "create", "label": f"{SANDBOX_LABEL}=1"},
                decode=True,
            )
            dirs = [(e.get("Actor") or {}).get("Attributes", {}).get(DIR_LABEL, "") for e in events]
        except (docker.errors.DockerException, OSError):  # no engine answers: nothing could start a container
            self._unreachable = True
            return []
        return [d for d in dirs if f"{d}/".startswith(self.root)]


_containers: SandboxContainerLog | None = None


def pytest_configure(config: pytest.Config) -> None:
    _install()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    global _current, _containers
    if _containers is None:
        _containers = SandboxContainerLog(item.config._tmp_path_factory.getbasetemp())  # type: ignore[attr-defined]
    _current = item
    item.stash[_started] = time.time()
    try:
        return (yield)
    finally:
        _current = None
        _violations.pop(item.nodeid, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = sorted(
        {
            f"`{marker}` (it uses the fixture {name})"
            for name, marker in FIXTURE_MARKERS.items()
            if name in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
        }
    )
    if missing:
        pytest.fail(f"{item.nodeid} is not marked " + ", ".join(missing), pytrace=False)


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> None:
    # Fixtures asked for by name at run time (``request.getfixturevalue``) are not in ``fixturenames``.
    marker = FIXTURE_MARKERS.get(fixturedef.argname)
    if marker is not None and _current is not None and _current.get_closest_marker(marker) is None:
        pytest.fail(f"{_current.nodeid} is not marked `{marker}` (it uses the fixture {fixturedef.argname})", False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when != "teardown":
        if report.failed and item.nodeid in _violations:
            item.stash[_surfaced] = True
        return report
    problems = [] if item.stash.get(_surfaced, False) else list(_violations.get(item.nodeid, []))
    if item.get_closest_marker("docker") is None and _containers is not None:
        problems += [
            f"{item.nodeid} started a sandbox container (for {d}) but is not marked `docker`: add @pytest.mark.docker"
            for d in _containers.created_since(item.stash[_started])
        ]
    if problems and report.passed:
        report.outcome = "failed"
        report.longrepr = "\n".join(dict.fromkeys(problems))
    return report

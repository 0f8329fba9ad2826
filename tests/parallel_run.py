"""What a parallel run (``pytest -n``, pytest-xdist) needs beyond the serial one: the long tests
first, ``xdist_group`` honoured, and workers that see the run's terminal size."""

from __future__ import annotations

import os

import pytest

TERMINAL_ENV = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """In the controller: hand each worker the terminal size variables as they are here."""
    node.workerinput["terminal_env"] = {name: os.environ.get(name) for name in TERMINAL_ENV}


def pytest_configure(config: pytest.Config) -> None:
    # A worker's readline sets COLUMNS=80 and LINES=24 when the controller had none: commands run
    # in-process would then print 80-column tables in a worker and wider ones in a serial run. A
    # worker sees the controller's values instead.
    for name, value in getattr(config, "workerinput", {}).get("terminal_env", {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    """The long tests first (worker processes and whole pipelines, up to two minutes each), the many
    short ones after, otherwise in collection order: a parallel run then does not end waiting on a
    long test that started last.

    And ``--dist loadgroup``: pytest-xdist (3.8) puts a test in its ``xdist_group`` by appending
    ``@<group>`` to its node id, which pytest 9.2 no longer takes (its node ids are structured), so
    the groups were silently ignored. After xdist's own hook, a grouped test whose id lacks the
    suffix gets it."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("workers") or item.get_closest_marker("slow") else 1)
    yield
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        marks = item.iter_markers("xdist_group")
        groups = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in marks})
        suffix = f"@{'_'.join(groups)}"
        if groups and not item.nodeid.endswith(suffix):
            from _pytest.nodeid import NodeId

            item._id = NodeId.parse(item.nodeid + suffix)  # type: ignore[attr-defined]

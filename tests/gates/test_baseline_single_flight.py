"""Two jobs gating changes on the same base at the same time share one baseline run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sandboxes.base import SandboxSpec
from tests.gates.samples import change_good_feature, commit_change, git_repo, make_calc_repo
from workflows.gates import evidence as ev
from workflows.gates.change_set import read_change_set
from workflows.nodes.prepare import config_source
from workflows.repo_config import RepoConfig, parse_repo_config


def test_concurrent_gates_on_one_base_run_the_baseline_once(tmp_path, sandbox_provider):
    repo = tmp_path / "calc"
    base = make_calc_repo(repo)
    config = parse_repo_config((repo / ".shipyard.yml").read_text())
    candidate = commit_change(repo, base, change_good_feature())

    def gate_inputs() -> ev.GateInputs:
        changes = read_change_set(git_repo(repo), base, candidate, config.test.test_globs)
        return ev.GateInputs(
            repo=git_repo(repo),
            changes=changes,
            config=config,
            pool=ev.SandboxPool(sandbox_provider, SandboxSpec()),
            cache_dir=tmp_path / "cache",
        )

    with ThreadPoolExecutor(2) as pool:
        baselines = list(pool.map(lambda _: ev.establish_baseline(gate_inputs()), range(2)))
    assert all(b.ok for b in baselines), [b.error for b in baselines]
    assert sorted(b.cached for b in baselines) == [False, True], "the second gate must take the first one's run"
    assert baselines[0].cases.keys() == baselines[1].cases.keys()


def test_a_committed_configuration_wins_over_the_stored_one():
    committed, stored = b"test:\n  timeout_s: 30\n", "test:\n  timeout_s: 60\n"
    text, _, source = config_source(committed, stored)
    assert parse_repo_config(text).test.timeout_s == 30 and source == "from .shipyard.yml"
    text, name, source = config_source(None, stored)
    assert parse_repo_config(text, name).test.timeout_s == 60 and source.startswith("stored configuration")
    assert config_source(None, None)[0] is None and RepoConfig().test.timeout_s == 900

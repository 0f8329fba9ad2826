"""Prompt tokens of one fixed 30-step agent trajectory, with context discipline on vs off.

The trajectory (exploring a repository, writing a test first, implementing ``truncate()``,
running the suite) is replayed by ``ScriptedChatModel`` through the real agent loop and real
tools in a local sandbox, on the demo sample repository plus a vendored copy of PyYAML's
pure-Python sources (so files and outputs have realistic sizes). The replay is identical in
both modes; only what the model would be sent differs:

* on:  tool outputs cut to head + tail, history compacted past the token threshold
       (older observations → digest), repository map in the system prompt;
* off: full history, untruncated outputs, no repository map.

Prompt tokens per step are the chars/4 estimate of the exact prompt the loop sends.
Run: ``.venv/bin/python bench/tokens_bench.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402  (vendored into the bench repository below)

from agents.cassette import Cassette  # noqa: E402
from agents.loop import AgentLimits, CodingTask, run_coding_agent  # noqa: E402
from agents.repomap import build_repo_map  # noqa: E402
from agents.scripted import ScriptedChatModel  # noqa: E402
from sandboxes.base import SandboxSpec  # noqa: E402
from sandboxes.local import LocalSandboxProvider  # noqa: E402
from workflows.repo_config import load_repo_config  # noqa: E402

SAMPLE = ROOT / "orchestrator" / "demo" / "assets" / "sample_repo"
TRUNCATE_CASSETTE = ROOT / "orchestrator" / "demo" / "assets" / "cassettes" / "add-truncate.yml"


class Recorder:
    def __init__(self) -> None:
        self.usages: list = []
        self.compactions = 0

    def event(self, kind: str, message: str, **data) -> None:
        self.compactions += kind == "compaction"

    def usage(self, record) -> None:
        self.usages.append(record)


def bench_repo(dest: Path) -> Path:
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("__pycache__"))
    vendored = dest / "vendor" / "yaml"
    shutil.copytree(Path(yaml.__file__).parent, vendored, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    return dest


def trajectory() -> Cassette:
    """30 turns: exploration with big outputs, the add-truncate change, test runs, finish."""
    recorded = yaml.safe_load(TRUNCATE_CASSETTE.read_text())["code"][0]
    change = {t["tool"] + str(i): t for i, t in enumerate(recorded)}
    create_test, run_new, edit_wrap, edit_init = (change[k] for k in ("create2", "run_tests3", "edit4", "edit5"))
    v = "vendor/yaml/"

    def t(tool: str, **args) -> dict:
        return {"tool": tool, "args": args}

    turns = [
        t("view", path="."),
        t("search", pattern="def ", path="."),
        t("view", path="textkit/wrap.py"),
        t("run_tests"),
        t("view", path=v + "scanner.py"),
        t("search", pattern="import", path="."),
        t("bash", command="python -m pytest -p no:cacheprovider -vv"),
        t("view", path=v + "emitter.py"),
        t("bash", command="cat textkit/*.py tests/*.py"),
        t("view", path=v + "constructor.py"),
        t("search", pattern="class ", path="."),
        t("bash", command="python -m pydoc textkit.wrap"),
        t("view", path=v + "parser.py"),
        t("bash", command="ls -laR"),
        {k: create_test[k] for k in ("tool", "args")},
        {k: run_new[k] for k in ("tool", "args")},
        {k: edit_wrap[k] for k in ("tool", "args")},
        {k: edit_init[k] for k in ("tool", "args")},
        t("run_tests"),
        t("view", path=v + "representer.py"),
        t("search", pattern="truncate", path="."),
        t("bash", command="python -m pytest -p no:cacheprovider --collect-only -q"),
        t("view", path=v + "reader.py"),
        t("search", pattern="Error", path="."),
        t("bash", command="python -m pydoc textkit"),
        t("view", path=v + "resolver.py"),
        t("run_tests"),
        t("view", path="tests/test_truncate.py"),
        t("bash", command="python -m pytest -p no:cacheprovider -q --durations=0"),
        t("finish", summary="Added truncate() with tests."),
    ]
    return Cassette(name="tokens-bench", code=[turns])


def run_once(
    provider: LocalSandboxProvider, repo: Path, cassette: Cassette, discipline: bool
) -> tuple[list[int], int, float]:
    sandbox = provider.acquire(SandboxSpec(command_timeout_s=120, output_cap_bytes=4 * 1024 * 1024))
    try:
        for path in sorted(repo.rglob("*")):
            if path.is_file():
                sandbox.write_file(path.relative_to(repo).as_posix(), path.read_bytes())
        config = load_repo_config(repo)
        task = CodingTask(
            ticket_title="Add truncate() for previews",
            ticket_body="Add textkit.truncate(text, width).",
            instructions=(repo / "AGENTS.md").read_text(),
            test_command=config.test.command,
            repo_map=build_repo_map(sandbox) if discipline else "",
        )
        limits = (
            AgentLimits(max_steps=40)
            if discipline
            else AgentLimits(max_steps=40, tool_output_chars=0, compact_at_share=None)
        )
        recorder = Recorder()
        started = time.monotonic()
        result = run_coding_agent(ScriptedChatModel(cassette=cassette), sandbox, task, recorder=recorder, limits=limits)
        elapsed = time.monotonic() - started
        if result.stop_reason != "finished":
            raise SystemExit(f"trajectory did not finish ({'on' if discipline else 'off'}): {result.detail}")
        return [u.input_tokens for u in recorder.usages], recorder.compactions, elapsed
    finally:
        sandbox.close()


def spread(values: list[float]) -> str:
    return f"min {min(values):,.0f} / median {statistics.median(values):,.0f} / max {max(values):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cassette = trajectory()
    with tempfile.TemporaryDirectory(prefix="tokens-bench-") as tmp:
        repo = bench_repo(Path(tmp) / "repo")
        provider = LocalSandboxProvider(Path(tmp) / "sandboxes")
        totals: dict[bool, list[int]] = {True: [], False: []}
        seconds: dict[bool, list[float]] = {True: [], False: []}
        steps: dict[bool, list[int]] = {}
        compactions = 0
        for _ in range(args.repeats):
            for discipline in (False, True):  # interleaved, same machine state for both
                per_step, comp, elapsed = run_once(provider, repo, cassette, discipline)
                steps[discipline], totals[discipline] = per_step, totals[discipline] + [sum(per_step)]
                seconds[discipline].append(elapsed)
                compactions = comp if discipline else compactions
    print(f"trajectory: {len(steps[True])} model calls; {compactions} compaction(s) with discipline on")
    print(f"{'step':>4} {'off':>9} {'on':>9} {'off/on':>7}")
    # A compaction's summary call is one more model call on the discipline side: the table stops at the shorter run.
    for i, (off, on) in enumerate(zip(steps[False], steps[True], strict=False), start=1):
        print(f"{i:>4} {off:>9,} {on:>9,} {off / on:>6.1f}x")
    print(f"prompt tokens per run, off: {spread(totals[False])}")
    print(f"prompt tokens per run, on:  {spread(totals[True])}")
    print(f"largest single prompt: off {max(steps[False]):,}, on {max(steps[True]):,}")
    print(
        f"replay wall time: off {spread([s * 1000 for s in seconds[False]])} ms; "
        f"on {spread([s * 1000 for s in seconds[True]])} ms"
    )
    ratios = [off / on for off, on in zip(totals[False], totals[True], strict=True)]
    print(
        f"ratio off/on over {args.repeats} repeats: min {min(ratios):.2f} / median {statistics.median(ratios):.2f} "
        f"/ max {max(ratios):.2f}"
    )
    print(f"RESULT prompt_token_ratio {statistics.median(ratios):.2f} x")


if __name__ == "__main__":
    main()

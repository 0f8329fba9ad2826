"""What a user pays for one fixed 30-step agent trajectory, with context discipline on vs off.

The trajectory (exploring a repository, writing a test first, implementing ``truncate()``,
running the suite) is replayed by ``ScriptedChatModel`` through the real agent loop and real
tools in a local sandbox, on the demo sample repository plus a vendored copy of PyYAML's
pure-Python sources (so files and outputs have realistic sizes). The replay is identical in
both modes; only what the model would be sent differs:

* on:  tool outputs cut to head + tail, history compacted past the loop's threshold for the
       model's window, repository map (sized to the window) in the system prompt;
* off: full history, untruncated outputs, no repository map.

Every prompt the loop sends is captured and priced as the provider bills it, with its prompt
cache: the part of a prompt equal to the start of the previous one is a cache hit (OpenAI:
at least 1,024 tokens, in 128-token steps; a local llama.cpp server reuses any common prefix
of its KV cache), priced at the cached rate; the rest at the full input rate. Output tokens are
the same in both modes and left out. Three models of the shipped catalogue and one local one:

* gpt-4.1-mini (1M-token window; $0.40 input, $0.10 cached per million),
* claude-haiku (200k; $0.80, $0.08),
* a local 32k-window model on llama.cpp, "priced" in prompt tokens it must evaluate (cached: free),
  the time a user waits.

Tokens are the chars/4 estimate of the exact prompt. The result is the smallest of the three
off/on cost ratios (the task outcome is the same: both runs finish the trajectory).
Run: ``.venv/bin/python bench/tokens_bench.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402  (vendored into the bench repository below)
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

from agents.accounting import estimate_tokens  # noqa: E402
from agents.cassette import Cassette  # noqa: E402
from agents.catalogue import ModelSpec  # noqa: E402
from agents.loop import AgentLimits, CodingTask, run_coding_agent  # noqa: E402
from agents.repomap import build_repo_map  # noqa: E402
from agents.scripted import ScriptedChatModel  # noqa: E402
from sandboxes.base import SandboxSpec  # noqa: E402
from sandboxes.local import LocalSandboxProvider  # noqa: E402
from workflows.repo_config import load_repo_config  # noqa: E402

SAMPLE = ROOT / "orchestrator" / "demo" / "assets" / "sample_repo"
TRUNCATE_CASSETTE = ROOT / "orchestrator" / "demo" / "assets" / "cassettes" / "add-truncate.yml"


@dataclass(frozen=True)
class Pricing:
    """A model as its provider bills prompts."""

    label: str
    spec: ModelSpec
    cache: str
    """``prefix``: any prefix equal to the previous prompt's is cached; ``system``: only the system
    prompt (Shipyard marks it with ``cache_control`` on Anthropic)."""
    min_cached: int
    """Fewest tokens a cache hit can hold."""
    step: int
    """Cache hits come in multiples of this many tokens."""
    price_input: float
    price_cached: float
    unit: str
    """``USD`` (prices per million tokens) or ``tokens evaluated``."""


MODELS = [
    Pricing(
        "gpt-4.1-mini (1M window)",
        ModelSpec(name="gpt-4.1-mini", provider="openai", model_id="gpt-4.1-mini", context_window=1_000_000),
        "prefix",
        1024,
        128,
        0.40,
        0.10,
        "USD",
    ),
    Pricing(
        "claude-haiku (200k window)",
        ModelSpec(name="claude-haiku", provider="anthropic", model_id="claude-3-5-haiku", context_window=200_000),
        "system",
        2048,
        1,
        0.80,
        0.08,
        "USD",
    ),
    Pricing(
        "local llama.cpp (32k window)",
        ModelSpec(name="local-32k", provider="openai_compatible", model_id="local", context_window=32_768),
        "prefix",
        1,
        1,
        1.0,
        0.0,
        "tokens evaluated",
    ),
]


class CapturingModel(ScriptedChatModel):
    """The trajectory's replay, accounted under a real model's window; keeps every prompt sent."""

    window: ModelSpec
    _sent: list = PrivateAttr(default_factory=list)

    @property
    def model_spec(self) -> ModelSpec:
        return self.window

    def answer(self, messages: list[BaseMessage], tools: list[Any], tool_choice: str | None, **kw: Any) -> AIMessage:
        system = "".join(str(m.content) for m in messages if isinstance(m, SystemMessage))
        parts = [json.dumps([getattr(t, "name", str(t)) for t in tools])]
        for m in messages:
            calls = json.dumps(getattr(m, "tool_calls", None) or [], sort_keys=True, default=str)
            parts.append(f"<{m.type}>{m.content}{calls}")
        self._sent.append(("\n".join(parts), estimate_tokens(system) + estimate_tokens(parts[0])))
        return super().answer(messages, tools, tool_choice, **kw)


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:  # binary search on equal prefixes: the prompts are long
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def bill(sent: list[tuple[str, int]], pricing: Pricing) -> tuple[float, int, int]:
    """(cost, cached tokens, uncached tokens) of the prompts as the provider's cache bills them."""
    cost, cached_total, uncached_total, previous = 0.0, 0, 0, ""
    for text, system_tokens in sent:
        tokens = estimate_tokens(text)
        hit = estimate_tokens(text[: _common_prefix(text, previous)]) if previous else 0
        if pricing.cache == "system":
            hit = system_tokens if previous and hit >= system_tokens else 0
        hit = (hit // pricing.step) * pricing.step if hit >= pricing.min_cached else 0
        cost += (tokens - hit) * pricing.price_input + hit * pricing.price_cached
        cached_total, uncached_total, previous = cached_total + hit, uncached_total + tokens - hit, text
    return cost, cached_total, uncached_total


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
    """30 turns: exploration with big outputs (two whole files printed with ``cat``, a verbose test
    run, a recursive listing), the add-truncate change, test runs, finish."""
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
        t("bash", command=f"cat {v}scanner.py"),  # what a model does when it wants the whole file
        t("search", pattern="import", path="."),
        t("bash", command="python -m pytest -p no:cacheprovider -vv"),
        t("view", path=v + "emitter.py"),
        t("bash", command="cat textkit/*.py tests/*.py"),
        t("bash", command=f"cat {v}constructor.py"),
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
    provider: LocalSandboxProvider, repo: Path, cassette: Cassette, discipline: bool, window: ModelSpec
) -> tuple[list[tuple[str, int]], int, float]:
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
        model = CapturingModel(cassette=cassette, window=window)
        started = time.monotonic()
        result = run_coding_agent(model, sandbox, task, recorder=recorder, limits=limits)
        elapsed = time.monotonic() - started
        if result.stop_reason != "finished":
            raise SystemExit(f"trajectory did not finish ({'on' if discipline else 'off'}): {result.detail}")
        return model._sent, recorder.compactions, elapsed
    finally:
        sandbox.close()


def overflow(sent: list[tuple[str, int]], window: int) -> int | None:
    """The first call (1-based) whose prompt the model's window cannot hold: the provider refuses it
    and the task fails there."""
    return next((n for n, (text, _) in enumerate(sent, start=1) if estimate_tokens(text) > window), None)


def describe(sent: list[tuple[str, int]], pricing: Pricing) -> str:
    cost, cached, new = bill(sent, pricing)
    money = f"${cost / 1e6:.4f}" if pricing.unit == "USD" else f"{cost:,.0f} tokens evaluated"
    return f"{new:,} uncached + {cached:,} cached prompt tokens = {money}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cassette = trajectory()
    ratios: dict[str, list[float]] = {p.label: [] for p in MODELS}
    with tempfile.TemporaryDirectory(prefix="tokens-bench-") as tmp:
        repo = bench_repo(Path(tmp) / "repo")
        provider = LocalSandboxProvider(Path(tmp) / "sandboxes")
        for repeat in range(args.repeats):
            for pricing in MODELS:
                runs = {d: run_once(provider, repo, cassette, d, pricing.spec) for d in (False, True)}
                (off, _, off_s), (on, compactions, on_s) = runs[False], runs[True]
                window = pricing.spec.context_window
                refused = overflow(off, window), overflow(on, window)
                if refused[1] is not None:
                    raise SystemExit(f"{pricing.label}: with discipline, call {refused[1]} exceeds the window")
                if refused[0] is None:
                    ratios[pricing.label].append(bill(off, pricing)[0] / bill(on, pricing)[0])
                if repeat:
                    continue
                largest = {d: max(estimate_tokens(t) for t, _ in sent) for d, sent in ((0, off), (1, on))}
                print(f"== {pricing.label}: {len(on)} calls, {compactions} compaction(s) on")
                print(
                    f"   largest prompt: off {largest[0]:,}, on {largest[1]:,} tokens; replay {off_s:.0f}s, {on_s:.0f}s"
                )
                print(f"   off: {describe(off, pricing)}")
                if refused[0] is not None:
                    print(f"   off: call {refused[0]} exceeds the {window:,}-token window: refused, the task fails")
                print(f"   on:  {describe(on, pricing)}")
    for label, values in ratios.items():
        text = (
            f"min {min(values):.2f} / median {statistics.median(values):.2f} / max {max(values):.2f}"
            if values
            else ("off cannot finish (its prompt outgrows the window); on finishes")
        )
        print(f"cost off/on, {label}: {text}")
    finishing = [statistics.median(v) for v in ratios.values() if v]
    print(f"RESULT priced_prompt_cost_ratio {min(finishing):.2f} x")


if __name__ == "__main__":
    main()

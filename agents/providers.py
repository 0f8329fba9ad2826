"""Chat models for catalogue entries, built with the providers' own LangChain clients.

``openai`` and ``openai_compatible`` use ``ChatOpenAI`` (``base_url`` for compatible servers),
``anthropic`` uses ``ChatAnthropic``, ``ollama`` uses ``ChatOllama``. Each model is tagged with
its ``ModelSpec`` so calls are priced and context limits known."""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from agents.catalogue import ModelSpec, attach_spec
from agents.credentials import ProviderSecrets


class ProviderError(RuntimeError):
    """A model cannot be built (missing key, unsupported provider); says which and why."""


def _key(spec: ModelSpec, secrets: ProviderSecrets, *, required: bool) -> SecretStr | None:
    key = secrets.get(spec.api_key_env)
    if key is None and required:
        where = spec.api_key_env or "an api_key_env name in its catalogue entry"
        raise ProviderError(f"model {spec.name}: no API key: set {where} in the environment or the secrets file")
    return key


DEFAULT_TIMEOUT_S = 180.0


def make_chat_model(
    spec: ModelSpec, secrets: ProviderSecrets, *, timeout_s: float | None = None, max_retries: int = 2
) -> BaseChatModel:
    """A LangChain chat model for ``spec``; raises ``ProviderError`` with the reason. The request
    timeout is ``timeout_s``, else the entry's ``request_timeout_s``, else 180 s."""
    timeout_s = timeout_s or spec.request_timeout_s or DEFAULT_TIMEOUT_S
    model: Any
    if spec.provider in ("openai", "openai_compatible"):
        from langchain_openai import ChatOpenAI

        if spec.provider == "openai_compatible" and not spec.base_url:
            raise ProviderError(f"model {spec.name}: provider openai_compatible needs base_url")
        key = _key(spec, secrets, required=spec.provider == "openai")
        model = ChatOpenAI(
            model=spec.model_id,
            api_key=key or SecretStr("not-needed"),
            base_url=spec.base_url,
            max_completion_tokens=spec.max_output_tokens,
            timeout=timeout_s,
            max_retries=max_retries,
        )
    elif spec.provider == "anthropic":
        from langchain_anthropic import ChatAnthropic

        model = ChatAnthropic(
            model=spec.model_id,
            api_key=_key(spec, secrets, required=True),
            base_url=spec.base_url,
            max_tokens=spec.max_output_tokens,
            timeout=timeout_s,
            max_retries=max_retries,
        )
    elif spec.provider == "ollama":
        from langchain_ollama import ChatOllama

        model = ChatOllama(
            model=spec.model_id,
            base_url=spec.base_url,
            num_predict=spec.max_output_tokens,
            client_kwargs={"timeout": timeout_s},
        )
    else:
        raise ProviderError(
            f"model {spec.name}: provider {spec.provider!r} has no client (scripted models come from a cassette)"
        )
    return attach_spec(model, spec)

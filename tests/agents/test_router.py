"""Routing: cheapest first per complexity, one tier up per failure, overrides, replays."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from pydantic import SecretStr

from agents.cassette import load_cassette
from agents.catalogue import DEFAULT_CATALOGUE, CatalogueError, ModelSpec, parse_catalogue
from agents.credentials import ProviderSecrets
from agents.router import ModelRouter, RoutingError, RoutingPolicy
from tests.agents.conftest import DEMO_ASSETS
from tests.agents.emulators import OpenAIEmulator, Reply

SECRETS = ProviderSecrets(keys={"OPENAI_API_KEY": SecretStr("sk-router")})


def catalogue(base_url: str | None = None) -> list[ModelSpec]:
    def m(name, tier, pin, pout):
        return ModelSpec(
            name=name,
            provider="openai",
            model_id=f"id-{name}",
            base_url=base_url,
            tier=tier,
            price_input=pin,
            price_output=pout,
            api_key_env="OPENAI_API_KEY",
        )

    return [m("small-pricey", 1, 0.5, 2.0), m("small", 1, 0.1, 0.4), m("mid", 2, 0.4, 1.6), m("big", 3, 2.0, 8.0)]


def test_escalation_cascade_reaches_the_stronger_model_over_http(recorder):
    with OpenAIEmulator(lambda body: Reply(text=f"answered by {body['model']}")) as emu:
        router = ModelRouter(catalogue(emu.base_url), RoutingPolicy(max_tier=3), None, recorder, secrets=SECRETS)
        answers = []
        for failures in (0, 1, 2, 5):
            routed = router.for_role("code", complexity="low", attempt=failures + 1, failures=failures)
            answers.append(routed.model.invoke([HumanMessage(content="hi")]).content)
    assert answers == ["answered by id-small", "answered by id-mid", "answered by id-big", "answered by id-big"]
    reasons = recorder.messages("routing")
    assert reasons[0] == "code: complexity low → tier 1 → small (cheapest at tier 1)"
    assert reasons[1] == "code: complexity low → tier 1; 1 failure(s) → escalated to tier 2 → mid (cheapest at tier 2)"
    assert "5 failure(s) → escalated to tier 3 (max tier)" in reasons[3]


def test_complexity_sets_the_starting_tier():
    router = ModelRouter(catalogue(), secrets=SECRETS)
    assert router.choose("code", complexity="medium")[0].name == "mid"
    assert router.choose("code", complexity="high")[0].name == "big"
    assert router.choose("triage", complexity="high")[0].name == "small"


def test_missing_tier_falls_to_the_nearest_available():
    router = ModelRouter([s for s in catalogue() if s.tier != 2], secrets=SECRETS)
    spec, reason = router.choose("code", complexity="medium")
    assert spec.name == "big" and "no model at tier 2, using tier 3" in reason


def test_repository_override_starts_there_and_still_escalates():
    router = ModelRouter(catalogue(), RoutingPolicy(overrides={"code": "mid"}), secrets=SECRETS)
    assert router.choose("code")[0].name == "mid"
    assert router.choose("code", failures=1)[0].name == "big"
    with pytest.raises(RoutingError, match="model override for code: 'gpt-9' is not in the catalogue"):
        ModelRouter(catalogue(), RoutingPolicy(overrides={"code": "gpt-9"}))


def test_cassette_replaces_every_role_with_the_labelled_replay(recorder):
    cassette = load_cassette(DEMO_ASSETS / "cassettes" / "word-count-dashes.yml")
    router = ModelRouter(DEFAULT_CATALOGUE, None, cassette, recorder)
    routed = router.for_role("code", complexity="high", attempt=2, failures=1)
    assert routed.spec_name == "scripted:word-count-dashes" and routed.model.attempt == 2
    assert recorder.messages("routing") == ["code: scripted replay of cassette word-count-dashes (attempt 2)"]


def test_missing_key_is_a_routing_error():
    with pytest.raises(RoutingError, match="no API key: set OPENAI_API_KEY"):
        ModelRouter(catalogue()).for_role("code")


def test_catalogue_entries_are_validated_with_their_location():
    with pytest.raises(CatalogueError, match=r"shipyard.toml: models.cheap.price_input: Input should be greater"):
        parse_catalogue([{"name": "cheap", "provider": "openai", "model_id": "x", "price_input": -1}], "shipyard.toml")
    with pytest.raises(CatalogueError, match="duplicate model name"):
        parse_catalogue([{"name": "a", "provider": "openai", "model_id": "x"}] * 2)


def test_a_model_override_for_a_step_that_calls_no_model_is_refused_naming_the_field():
    from workflows.repo_config import ConfigError, parse_repo_config

    with pytest.raises(ConfigError) as caught:
        parse_repo_config("agent:\n  models:\n    review: strong\n")
    assert str(caught.value) == (
        ".shipyard.yml: agent.models.review.[key]: Input should be 'triage', 'plan', "
        "'code' or 'summarize', got 'review'"
    )
    assert parse_repo_config("agent:\n  models:\n    summarize: cheap\n").agent.models == {"summarize": "cheap"}


def test_a_fallback_must_name_another_catalogue_model():
    from agents.catalogue import CatalogueError, parse_catalogue

    entry = {"name": "a", "provider": "openai", "model_id": "a-1", "fallback": "b"}
    with pytest.raises(
        CatalogueError, match=r"models.yml: models.a.fallback: 'b' is not in the catalogue \(known: a\)"
    ):
        parse_catalogue([entry], "models.yml")
    with pytest.raises(CatalogueError, match="models.a.fallback: 'a' is the model itself"):
        parse_catalogue([{**entry, "fallback": "a"}], "models.yml")
    specs = parse_catalogue([entry, {"name": "b", "provider": "openai", "model_id": "b-1"}], "models.yml")
    assert specs[0].fallback == "b"

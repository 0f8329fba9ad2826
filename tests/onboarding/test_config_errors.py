"""A `.shipyard.yml` with several mistakes names every one of them, each with its key."""

from __future__ import annotations

import pytest

from workflows.repo_config import ConfigError, parse_repo_config


def test_every_problem_of_a_configuration_is_listed_with_its_key():
    text = "test:\n  command: 7\n  timeout_s: -1\ngates:\n  min_diff_coverage: lots\nsurprise: true\n"
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)
    message = str(caught.value)
    assert message.startswith(".shipyard.yml: ")
    for key in ("test.command", "test.timeout_s", "gates.min_diff_coverage", "surprise: unknown key"):
        assert key in message, message
    assert "more problem" not in message

"""Repositories with dependencies of their own, and the scripted coding sessions run on them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.gates.samples import init_repo

# Tests need a package no index holds (a wheel committed in the repository) and pin a pydantic 1.x
# stand-in, where Shipyard itself runs pydantic 2.
OWN_DEPENDENCIES = {
    "requirements.txt": "tinydep==1.0\npydantic==1.10.99\n",
    ".shipyard.yml": (
        "setup:\n  - python -m pip install -q --no-index --find-links wheels -r requirements.txt\n"
        "gates:\n  coverage:\n    target: 90\nagent:\n  max_attempts: 1\n"
    ),
    "shouty.py": "import pydantic\nimport tinydep\n\n\ndef banner(text):\n    return tinydep.shout(text)\n",
    "tests/test_shouty.py": "from shouty import banner\n\n\ndef test_banner():\n    assert banner('hi') == 'HI!'\n",
}

WHISPER_CASSETTE = {
    "name": "shouty-whisper",
    "triage": {"eligible": True, "complexity": "low", "kind": "feature", "reason": "One small function and its test."},
    "plan": "1. Add `whisper(text)` to shouty.py, naming the pydantic it runs with.\n2. A test for it.\n",
    "code": [
        [
            {
                "tool": "edit",
                "args": {
                    "path": "shouty.py",
                    "old": "def banner(text):\n",
                    "new": (
                        "def whisper(text):\n"
                        "    return tinydep.shout(text).lower() + f' (pydantic {pydantic.VERSION})'\n\n\n"
                        "def banner(text):\n"
                    ),
                },
                "expect": {"ok": True},
            },
            {
                "tool": "edit",
                "args": {
                    "path": "tests/test_shouty.py",
                    "old": "from shouty import banner\n",
                    "new": (
                        "from shouty import banner, whisper\n\n\n"
                        "def test_whisper_names_the_pinned_pydantic():\n"
                        "    assert whisper('Hi') == 'hi! (pydantic 1.10.99)'\n"
                    ),
                },
                "expect": {"ok": True},
            },
            {"tool": "run_tests", "args": {}, "expect": {"exit_code": 0}},
            {"tool": "finish", "args": {"summary": "Added whisper() with a test."}},
        ]
    ],
}

SOURCE_ONLY_CASSETTE = {
    **WHISPER_CASSETTE,
    "name": "shouty-whisper-untested",
    "code": [[WHISPER_CASSETTE["code"][0][0], {"tool": "finish", "args": {"summary": "Added whisper()."}}]],
}
"""The same change without its test: the gate blocks it."""

# A src layout whose version comes from git through hatch-vcs, with a test extra from PyPI that
# Shipyard does not ship (inflection).
HATCH_VCS_SRC = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["hatchling", "hatch-vcs"]\nbuild-backend = "hatchling.build"\n\n'
        '[project]\nname = "vcsgreet"\ndynamic = ["version"]\nrequires-python = ">=3.9"\n\n'
        '[project.optional-dependencies]\ntest = ["inflection"]\n\n'
        '[tool.hatch.version]\nsource = "vcs"\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
    ),
    "src/vcsgreet/__init__.py": (
        "from importlib.metadata import version\n\nimport inflection\n\n__version__ = version('vcsgreet')\n\n\n"
        "def title(text):\n    return inflection.titleize(text)\n"
    ),
    "tests/test_title.py": (
        "import vcsgreet\n\n\ndef test_title():\n    assert vcsgreet.title('hello_world') == 'Hello World'\n\n\n"
        "def test_has_a_version():\n    assert vcsgreet.__version__\n"
    ),
}

SNAKE_CASSETTE = {
    "name": "vcsgreet-snake",
    "triage": {"eligible": True, "complexity": "low", "kind": "feature", "reason": "One function and its test."},
    "plan": "1. Add `snake(text)` to vcsgreet.\n2. A test for it.\n",
    "code": [
        [
            {
                "tool": "edit",
                "args": {
                    "path": "src/vcsgreet/__init__.py",
                    "old": "def title(text):\n",
                    "new": "def snake(text):\n    return inflection.underscore(text)\n\n\ndef title(text):\n",
                },
                "expect": {"ok": True},
            },
            {
                "tool": "edit",
                "args": {
                    "path": "tests/test_title.py",
                    "old": "def test_has_a_version():\n",
                    "new": (
                        "def test_snake():\n    assert vcsgreet.snake('HelloWorld') == 'hello_world'\n\n\n"
                        "def test_has_a_version():\n"
                    ),
                },
                "expect": {"ok": True},
            },
            {"tool": "run_tests", "args": {}, "expect": {"exit_code": 0}},
            {"tool": "finish", "args": {"summary": "Added snake() with a test."}},
        ]
    ],
}


def write_cassette(path: Path, cassette: dict) -> Path:
    path.write_text(yaml.safe_dump(cassette, sort_keys=False))
    return path


def make_repository(path: Path, files: dict[str, str | bytes]) -> Path:
    """A git repository of ``files``, committed on main."""
    init_repo(path, files)
    return path

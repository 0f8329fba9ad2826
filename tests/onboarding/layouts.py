"""Small real-world repository layouts, built as git repositories in tmp dirs, none with a ``.shipyard.yml``."""

from __future__ import annotations

from pathlib import Path

from tests.gates.samples import init_repo

GREET_TEST = "from {pkg} import greet\n\n\ndef test_greet():\n    assert greet('ann') == 'Hello, Ann!'\n"
GREET = "def greet(name):\n    return f'Hello, {name.title()}!'\n"

SRC_LAYOUT = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "greeter"\nversion = "1.2.0"\nrequires-python = ">=3.9"\n\n'
        '[project.optional-dependencies]\ntest = ["six"]\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\naddopts = "-ra"\n'
    ),
    "src/greeter/__init__.py": GREET,
    "tests/test_greet.py": GREET_TEST.format(pkg="greeter")
    + "\n\ndef test_six_is_installed():\n    import six\n    assert six.PY3\n",
    "README.md": "# greeter\n",
}

FLAT_SETUP_CFG = {
    "setup.cfg": (
        "[metadata]\nname = flatpkg\nversion = 0.3\n\n[options]\npackages = find:\n\n[tool:pytest]\ntestpaths = tests\n"
    ),
    "setup.py": "from setuptools import setup\n\nsetup()\n",
    "tox.ini": "[tox]\nenvlist = py311\n\n[testenv]\ndeps =\n    pytest\n    six\ncommands = pytest\n",
    "flatpkg/__init__.py": GREET,
    "tests/test_flat.py": GREET_TEST.format(pkg="flatpkg")
    + "\n\ndef test_tox_deps_installed():\n    import six\n    assert six.PY3\n",
}

SCM_VERSION = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools>=64", "setuptools-scm>=8"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "scmpkg"\ndynamic = ["version"]\n\n[tool.setuptools_scm]\n'
    ),
    "scmpkg/__init__.py": "from importlib.metadata import version\n\n__version__ = version('scmpkg')\n\n\n" + GREET,
    "tests/test_scm.py": GREET_TEST.format(pkg="scmpkg")
    + "\n\ndef test_has_a_version():\n    import scmpkg\n    assert scmpkg.__version__\n",
}

NODE_NPM = {
    "package.json": (
        '{\n  "name": "strings",\n  "version": "1.0.0",\n  "private": true,\n  "scripts": {"test": "node --test"}\n}\n'
    ),
    "src/strings.js": (
        "'use strict';\nfunction shout(t) { return t.toUpperCase() + '!'; }\nmodule.exports = { shout };\n"
    ),
    "test/strings.test.js": (
        "'use strict';\nconst test = require('node:test');\nconst assert = require('node:assert');\n"
        "const { shout } = require('../src/strings.js');\n\n"
        "test('shout', () => { assert.strictEqual(shout('hi'), 'HI!'); });\n"
    ),
}

UNDECLARED_IMPORT = {
    "requirements.txt": "six\n",
    "calc.py": "def double(x):\n    return 2 * x\n",
    "tests/test_calc.py": (
        "import numpy\nfrom calc import double\n\n\ndef test_double():\n    assert double(numpy.int64(2)) == 4\n"
    ),
}


def make_layout(path: Path, files: dict[str, str]) -> Path:
    init_repo(path, files)
    return path

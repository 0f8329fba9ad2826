"""``strings``: a JavaScript library tested with Node's built-in runner (``node --test``).

No npm dependency: Node ≥ 20 writes JUnit XML and LCOV itself. It proves the gates are
language-agnostic: results come from JUnit + LCOV, tests are selected by file.
"""

from __future__ import annotations

from pathlib import Path

from tests.gates.samples.commits import FileChange, init_repo

STRINGS_JS = """'use strict';

function capitalize(text) {
  if (text.length === 0) {
    return text;
  }
  return text[0].toUpperCase() + text.slice(1);
}

function reverse(text) {
  return text.split('').reverse().join('');
}

module.exports = { capitalize, reverse };
"""

STRINGS_TEST_JS = """'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { capitalize, reverse } = require('../src/strings.js');

test('capitalize upper-cases the first letter', () => {
  assert.strictEqual(capitalize('hello'), 'Hello');
});

test('capitalize keeps the empty string', () => {
  assert.strictEqual(capitalize(''), '');
});

test('reverse reverses', () => {
  assert.strictEqual(reverse('abc'), 'cba');
});
"""

SHIPYARD_YML = """test:
  command: >-
    node --test --experimental-test-coverage
    --test-reporter=junit --test-reporter-destination=.shipyard/junit.xml
    --test-reporter=lcov --test-reporter-destination=.shipyard/lcov.info
  select_command: >-
    node --test --test-reporter=junit --test-reporter-destination=.shipyard/junit.xml {tests}
  select_granularity: file
  junit: .shipyard/junit.xml
  coverage:
    format: lcov
    path: .shipyard/lcov.info
  timeout_s: 60
gates:
  coverage:
    target: 90
"""

SLUGIFY_JS = """
function slugify(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

module.exports.slugify = slugify;
"""

SLUGIFY_TEST_JS = """'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { slugify } = require('../src/strings.js');

test('slugify joins words with dashes', () => {
  assert.strictEqual(slugify('  Hello, World! '), 'hello-world');
});
"""


def make_node_repo(path: Path) -> str:
    """Create the strings repository at ``path``; returns the base commit SHA."""
    return init_repo(
        path,
        {
            "package.json": '{"name": "strings", "version": "1.0.0", "private": true}\n',
            "src/strings.js": STRINGS_JS,
            "test/strings.test.js": STRINGS_TEST_JS,
            ".shipyard.yml": SHIPYARD_YML,
        },
    )


def change_node_good_feature() -> dict[str, FileChange]:
    """``slugify`` with a test that fails before (it does not exist) and passes after."""
    return {"src/strings.js": STRINGS_JS + SLUGIFY_JS, "test/slugify.test.js": SLUGIFY_TEST_JS}


def change_node_vacuous_test() -> dict[str, FileChange]:
    """``slugify`` with a test that does not exercise it (passes on the base code too)."""
    vacuous = SLUGIFY_TEST_JS.replace("const { slugify } = require('../src/strings.js');\n", "").replace(
        "assert.strictEqual(slugify('  Hello, World! '), 'hello-world');", "assert.ok(true);"
    )
    return {"src/strings.js": STRINGS_JS + SLUGIFY_JS, "test/slugify.test.js": vacuous}

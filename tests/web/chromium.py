"""Debian's Chromium driven by Playwright: the ``browser`` and ``page`` fixtures of the browser tests
(made visible to every web test by ``tests/web/conftest.py``) and the launch settings the README's
screenshots share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.web.logins import log_in_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: str, ship) -> Iterator[Page]:
    """A browser page logged in as an admin named ``admin``."""
    # Needs the server, so it closes first: a live page's open stream is not cut by the server stopping.
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in_page(page, live_server, ship)
    yield page
    context.close()
    assert errors == [], f"the page reported errors (a blocked inline script or a JS error): {errors}"

"""The README's screenshots: the queue page, a job page with its covered diff and the outcome
dashboard, rendered by Debian's Chromium from a seeded store, 1280×800 each.

    .venv/bin/python -m tests.web.readme_screenshots [DIR]    # default: orchestrator/web/static/screenshots

The committed PNGs come from here; tests call ``take_screenshots`` into a temporary folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from sqlalchemy import update

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from orchestrator.store.tables import ModelUsage
from orchestrator.worker.heartbeats import register_worker
from tests.web.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.web.conftest import serving
from tests.web.diff_jobs import job_with_change
from tests.web.logins import log_in_page
from tests.web.store_rows import JobSpec, gate_report, insert_job

VIEWPORT = {"width": 1280, "height": 800}
README_DIR = Path(__file__).resolve().parents[2] / "orchestrator" / "web" / "static" / "screenshots"
NAMES = ("queue.png", "job-covered-diff.png", "outcomes.png")

BASE = {
    "src/slugify.py": (
        'import re\n\n\ndef slugify(text: str) -> str:\n    """Lower-case words joined by dashes."""\n'
        '    text = text.lower().strip()\n    return re.sub(r"[^a-z0-9]+", "-", text)\n'
    ),
    "tests/test_slugify.py": (
        "from src.slugify import slugify\n\n\ndef test_words():\n    assert slugify('A b') == 'a-b'\n"
    ),
}
HEAD = {
    "src/slugify.py": (
        'import re\n\n\ndef slugify(text: str, sep: str = "-") -> str:\n'
        '    """Lower-case words joined by ``sep``; repeated separators collapse."""\n'
        '    text = text.lower().strip()\n    if not text:\n        return ""\n'
        '    slug = re.sub(r"[^a-z0-9]+", sep, text)\n    return slug.strip(sep)\n'
    ),
    "tests/test_slugify.py": (
        "from src.slugify import slugify\n\n\ndef test_words():\n    assert slugify('A b') == 'a-b'\n\n\n"
        "def test_repeated_dashes_collapse():\n    assert slugify('a -- b') == 'a-b'\n"
    ),
}


def seed(ship: Shipyard, workdir: Path) -> int:
    """Twelve weeks of finished work, a live queue and one pull request awaiting review; returns its job id."""
    now = datetime.now(UTC)
    for week in range(12):
        for n in range(1 + week % 4):
            insert_job(
                ship,
                JobSpec(
                    state="merged",
                    created_at=now - timedelta(weeks=week, hours=n + 1),
                    complexity="low" if n % 2 else "medium",
                    human_touches=1,
                    pr_state="merged",
                    title=f"Fix parser edge case {week}-{n}",
                    usage=[("gpt-small", 0.12 + 0.03 * n), ("gpt-large", 0.20 if n == 2 else 0.0)],
                    gates=[gate_report(True)],
                ),
            )
        if week % 3 == 0:
            insert_job(
                ship,
                JobSpec(
                    state="blocked",
                    created_at=now - timedelta(weeks=week, hours=5),
                    complexity="high",
                    usage=[("gpt-large", 0.45)],
                    gates=[gate_report(False, 62.0, "diff coverage 62% < 90%")],
                    reason="the gate failed: diff coverage 62% < 90%",
                    title=f"Refactor the config loader {week}",
                ),
            )
    with ship.store.session() as s:
        s.execute(update(ModelUsage).where(ModelUsage.model == "gpt-large").values(role="code"))
        s.execute(update(ModelUsage).where(ModelUsage.model == "gpt-small").values(role="plan"))
    for title in ("Add --dry-run to the export command", "Timezone-aware timestamps in the audit log"):
        insert_job(ship, JobSpec(state="queued", title=title, created_at=now - timedelta(minutes=4)))
    insert_job(
        ship,
        JobSpec(
            state="running",
            title="Retry uploads on HTTP 503",
            gates=[None],
            events=[("tool", "tool: run_tests: 14 passed, 1 failed")],
        ),
    )
    report = gate_report(False, 80.0, "diff coverage 80% < 90%: src/slugify.py line 8 never runs")
    proving = ["tests/test_slugify.py::test_repeated_dashes_collapse"]
    report["checks"][1]["details"] = {
        "uncovered": {"src/slugify.py": ["8"]},
        "not_in_report": [],
        "f2p_line_tests": {"src/slugify.py": {str(n): proving for n in (4, 7, 9, 10)}},
    }
    register_worker(ship.store, 2)
    return job_with_change(
        ship,
        lambda **f: insert_job(ship, JobSpec(**f)),
        workdir,
        BASE,
        HEAD,
        title="slugify leaves repeated dashes",
        gates=[report],
        usage=[("gpt-small", 0.21)],
        events=[("plan", "1. collapse repeated separators\n2. strip them at the ends\n3. test it")],
    )


def take_screenshots(out: Path) -> list[Path]:
    """Seed a store in a temporary folder, serve it and write the three PNGs into ``out``."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        ship = Shipyard.load(Settings(data_dir=Path(tmp) / "data"))
        job_id = seed(ship, Path(tmp))
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            with serving(ship) as url:
                page = browser.new_context(viewport=VIEWPORT, color_scheme="light").new_page()
                log_in_page(page, url, ship)
                page.goto(url + "/")
                expect(page.locator("#running-now")).to_contain_text("Retry uploads")
                page.screenshot(path=str(out / NAMES[0]))
                page.goto(f"{url}/jobs/{job_id}")
                expect(page.locator('tr.cov-uncovered[data-line="8"]')).to_contain_text("uncovered")
                expect(page.locator('tr[data-path="src/slugify.py"][data-line="9"] .f2p')).to_contain_text(
                    "test_repeated_dashes_collapse"
                )
                page.locator("h2", has_text="Diff").scroll_into_view_if_needed()
                page.evaluate("window.scrollBy(0, document.querySelector('#keys').getBoundingClientRect().top - 12)")
                page.screenshot(path=str(out / NAMES[1]))
                page.goto(url + "/outcomes")
                expect(page.locator("svg[aria-label='Merged pull requests per week']")).to_be_visible()
                page.screenshot(path=str(out / NAMES[2]))
        finally:
            browser.close()
    return [out / name for name in NAMES]


def optimise(paths: list[Path]) -> None:
    """Lossless recompression (optipng, Debian package ``optipng``) for the committed copies."""
    if shutil.which("optipng") is None:
        raise SystemExit("optipng is missing: apt-get install optipng (the committed screenshots are kept small)")
    subprocess.run(["optipng", "-quiet", "-o2", *map(str, paths)], check=True)


if __name__ == "__main__":
    shots = take_screenshots(Path(sys.argv[1]) if len(sys.argv) > 1 else README_DIR)
    optimise(shots)
    for path in shots:
        print(f"{path} ({path.stat().st_size // 1024} KB)")

"""The README's screenshots are rendered by Chromium from a seeded store, and the committed ones are shown."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from tests.web.readme_screenshots import NAMES, README_DIR, take_screenshots

pytestmark = pytest.mark.browser
README = Path(__file__).resolve().parents[2] / "README.md"


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_the_queue_job_and_dashboard_pages_render_to_1280_by_800(tmp_path):
    shots = take_screenshots(tmp_path / "shots")  # its own checks: running job, uncovered line, weekly chart on screen
    assert [p.name for p in shots] == list(NAMES)
    assert [_png_size(p) for p in shots] == [(1280, 800)] * 3


def test_the_readme_web_app_section_shows_the_committed_screenshots():
    section = README.read_text(encoding="utf-8").split("## The web app", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"!\[[^\]]+\]\((orchestrator/web/static/screenshots/[^)]+\.png)\)", section)
    assert shown == [f"orchestrator/web/static/screenshots/{n}" for n in NAMES]
    for name in NAMES:
        path = README_DIR / name
        assert _png_size(path) == (1280, 800) and path.stat().st_size < 200_000, f"{path}: keep it 1280×800 and small"

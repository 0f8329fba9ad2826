"""The web app's egress: a configured secret stored anywhere (a ticket someone pasted a key into, a
job's reason) is masked on every page and JSON response, however the page escapes it; and every
log record a process writes is redacted, traceback included."""

from __future__ import annotations

import io
import logging

import pytest

from orchestrator.deployment import Shipyard
from orchestrator.settings import Settings
from tests.web.logins import api_client
from tests.web.store_rows import JobSpec, insert_job

ESCAPED = "pa&ss<wo>rd'77"
"""Spelled differently once HTML- or JSON-escaped."""
PLAIN = "plainsecret3e9b"
FORGE_TOKEN = "forge-token-a41c77"


@pytest.fixture
def ship(tmp_path, monkeypatch, scrub_env) -> Shipyard:
    monkeypatch.setenv("SHIPYARD_GITHUB_TOKEN", FORGE_TOKEN)
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f'DEPLOY_NOTE="{ESCAPED}"\nOTHER={PLAIN}\n')
    return Shipyard.load(Settings(data_dir=tmp_path / "data", secrets_file=secrets_file))


def test_pages_and_api_responses_never_show_a_configured_secret(ship):
    leak = f"{ESCAPED} {PLAIN} {FORGE_TOKEN}"
    job_id = insert_job(
        ship,
        JobSpec(
            state="blocked",
            title=f"Rotate {PLAIN}",
            body=f"The key is {leak}",
            reason=f"configuration error: {leak}",
            events=[("error", f"boom: {leak}")],
        ),
    )
    with api_client(ship, "admin") as client:
        pages = {p: client.get(p) for p in ["/", f"/jobs/{job_id}", "/api/jobs", f"/api/jobs/{job_id}", "/reviews"]}
    for page, response in pages.items():
        assert response.status_code == 200, page
        for spelling in (ESCAPED, "pa&amp;ss&lt;wo&gt;rd&#39;77", "pa&ss\\u003cwo", PLAIN, FORGE_TOKEN):
            assert spelling not in response.text, f"{page} shows {spelling!r}"
    assert pages[f"/api/jobs/{job_id}"].json()["reason"] == "configuration error: [REDACTED] [REDACTED] [REDACTED]"
    assert "The key is [REDACTED] [REDACTED] [REDACTED]" in pages[f"/jobs/{job_id}"].text
    assert int(pages[f"/api/jobs/{job_id}"].headers["content-length"]) == len(pages[f"/api/jobs/{job_id}"].content)


def test_every_log_record_is_redacted_traceback_included(ship):
    out, records = io.StringIO(), []
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    handler.addFilter(lambda record: records.append(record) or True)
    logger = logging.getLogger("any.library")
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s", PLAIN)
        try:
            raise RuntimeError(f"refused token {FORGE_TOKEN}")
        except RuntimeError:
            logger.exception("call failed for %r", ESCAPED)
        logger.warning("plain %s %d", "text", 3)
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert PLAIN not in text and FORGE_TOKEN not in text and "pa&ss" not in text
    assert "any.library connecting with [REDACTED]" in text and "RuntimeError: refused token [REDACTED]" in text
    assert records[-1].args == (
        "text",
        3,
    )  # a record with nothing to mask keeps its arguments (uvicorn's access log reads them)


def test_masking_keeps_help_text_placeholders_and_still_masks_a_real_bearer_token(ship):
    from fastapi.testclient import TestClient

    from orchestrator.web.app import create_app

    with TestClient(create_app(ship), base_url="http://127.0.0.1") as anonymous:
        answer = anonymous.get("/api/jobs")
    assert answer.status_code == 401
    assert "Authorization: Bearer <token>" in answer.text, answer.text
    insert_job(ship, JobSpec(state="failed", reason="curl -H 'Authorization: Bearer a1b2c3d4e5f6g7' failed"))
    with api_client(ship) as client:
        shown = client.get("/api/jobs").text
    assert "a1b2c3d4e5f6g7" not in shown and "Authorization: Bearer [REDACTED]" in shown

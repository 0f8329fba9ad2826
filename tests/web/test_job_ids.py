"""A job id too large for the store is an unknown page (404), never an internal error."""

from __future__ import annotations

HUGE = "9" * 20


def test_twenty_digit_job_id_is_not_found(client):
    page = client.get(f"/jobs/{HUGE}")
    api = client.get(f"/api/jobs/{HUGE}", headers={"Accept": "application/json"})
    status = client.get(f"/api/jobs/{HUGE}/status", headers={"Accept": "application/json"})

    assert page.status_code == 404 and "no such page" in page.text and "Overflow" not in page.text
    assert api.status_code == 404 and api.json() == {"error": f"/api/jobs/{HUGE}: no such page"}
    assert status.status_code == 404

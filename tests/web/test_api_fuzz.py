"""Schemathesis over the JSON API on a real server, as an anonymous caller, a viewer and an admin:
never a 5xx, and nothing in the store changes unless the caller's role allows it."""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from orchestrator.web import create_app
from tests.web.logins import store_state, token_for
from tests.web.store_rows import gate_report

EXAMPLES = 25


def _operations(ship):
    schema = schemathesis.openapi.from_dict(create_app(ship).openapi())
    ops = [result.ok() for result in schema.get_all_operations()]
    return [op for op in ops if op.path.startswith("/api/")]


def _budget_decisions(ship) -> int:
    from sqlalchemy import func, select

    from orchestrator.store.tables import Review

    with ship.store.session() as s:
        return s.scalar(select(func.count()).select_from(Review).where(Review.gate == "budget"))


def _fuzz(ship, live_server: str, headers: dict, may_change: bool) -> Counter:
    statuses: Counter = Counter()
    for op in _operations(ship):

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            before = store_state(ship)
            response = case.call(base_url=live_server, headers=headers)
            statuses[response.status_code] += 1
            where = f"{case.method} {case.formatted_path} → {response.status_code}: {response.text[:300]}"
            assert response.status_code < 500, where
            if not may_change:
                assert store_state(ship) == before, f"the store changed: {where}"

        check()
    print(
        f"schemathesis {headers and 'with a token' or 'anonymous'}: "
        f"responses by status {dict(sorted(statuses.items()))}"
    )
    return statuses


def _jobs(add_job) -> None:
    add_job(state="awaiting_review", pr_state="open", gates=[gate_report(True)])
    add_job(state="awaiting_budget")
    add_job(state="awaiting_plan_approval", events=[("plan", "1. Do it")])


@pytest.mark.slow
def test_the_api_under_fuzzing_without_credentials_and_as_a_viewer_changes_nothing(ship, live_server, add_job):
    _jobs(add_job)
    anonymous = _fuzz(ship, live_server, {}, may_change=False)
    assert set(anonymous) <= {401, 403, 404}, anonymous  # the id check answers 404 before anything else
    viewer = _fuzz(
        ship, live_server, {"Authorization": f"Bearer {token_for(ship, 'vera', 'viewer')}"}, may_change=False
    )
    assert viewer[200] > 0 and viewer[403] > 0, viewer  # it read, and its decisions were refused


@pytest.mark.slow
def test_the_api_under_fuzzing_as_a_reviewer_and_an_admin_never_fails_with_a_5xx(ship, live_server, add_job):
    _jobs(add_job)
    reviewer = _fuzz(
        ship, live_server, {"Authorization": f"Bearer {token_for(ship, 'rita', 'reviewer')}"}, may_change=True
    )
    assert reviewer[200] > 0 and _budget_decisions(ship) == 0, reviewer  # a budget extension needs an operator
    admin = _fuzz(ship, live_server, {"Authorization": f"Bearer {token_for(ship, 'root', 'admin')}"}, may_change=True)
    assert admin[200] > 0, admin


def test_ids_and_cursors_beyond_the_stores_integers_are_refused_not_a_500(client):
    # Found by the fuzzing above: a negative 20-digit id or cursor reached SQLite and raised OverflowError.
    for url in (
        "/api/jobs/-99999999999999999999",
        "/api/jobs/-99999999999999999999/status",
        "/jobs/-99999999999999999999",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post("/api/jobs/-99999999999999999999/decision", json={"decision": "approve"}).status_code == 404
    reply = client.get("/api/jobs?cursor=99999999999999999999")
    assert reply.status_code == 400 and "cursor: must be between 1 and" in reply.json()["error"]

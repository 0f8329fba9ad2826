"""Pages render every job state, escape untrusted text, and show the gate report and diff."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from orchestrator.store.tables import Job, JobState, PullRequest
from tests.web.logins import api_client
from tests.web.store_rows import gate_report, set_state

WAITING = {
    JobState.AWAITING_PLAN_APPROVAL,
    JobState.AWAITING_BUDGET,
    JobState.AWAITING_PROVIDER,
    JobState.AWAITING_REVIEW,
}
"""States whose page offers a decision form (a provider wait may be resumed or stopped by a human)."""


@pytest.mark.parametrize("state", list(JobState), ids=lambda s: s.value)
def test_jobs_and_job_page_render_for_every_state(client, add_job, state):
    job_id = add_job(
        state=state.value,
        title=f"Ticket in {state.value}",
        reason=f"because of {state.value}",
        gates=[gate_report(True)],
        usage=[("small", 0.25)],
        events=[("plan", "1. change the parser")],
    )

    listing = client.get("/")
    assert listing.status_code == 200
    row = re.search(rf'<tr data-job="{job_id}">.*?</tr>', listing.text, re.S).group(0)
    assert f"Ticket in {state.value}" in row and f'data-state="{state.value}"' in row and "$0.2500" in row

    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert f"because of {state.value}" in page.text
    assert 'Quality gates: <span class="pass">passed</span>' in page.text
    has_form = 'id="decision-form"' in page.text
    assert has_form == (state in WAITING)
    assert ('id="cancel"' in page.text) == (not state.is_final)
    assert ('id="retry"' in page.text) == state.is_final
    if state == JobState.AWAITING_BUDGET:
        assert 'name="extra_usd"' in page.text
    if state == JobState.AWAITING_PLAN_APPROVAL:
        assert 'id="plan"' in page.text and "1. change the parser" in page.text


def test_blocked_reason_is_prominent_and_filter_by_state(client, add_job):
    blocked = add_job(
        state="blocked", title="Hard one", reason="Diff coverage: 40% of changed lines covered, target 90%"
    )
    merged = add_job(state="merged", title="Easy one")

    page = client.get(f"/jobs/{blocked}")
    assert re.search(r'<div class="reason bad" id="job-reason">Diff coverage: 40% of changed lines covered', page.text)

    only_merged = client.get("/?state=merged").text
    assert f'data-job="{merged}"' in only_merged and f'data-job="{blocked}"' not in only_merged
    bogus = client.get("/?state=done")
    assert bogus.status_code == 400 and "unknown job state &#39;done&#39;" in bogus.text


def test_local_sandbox_and_scripted_jobs_are_tagged(client, add_job):
    add_job(state="running", sandbox="local", cassette="/cassettes/demo.json")
    text = client.get("/").text
    assert "local · not isolated" in text
    assert '<span class="tag replay"' in text and ">scripted</span>" in text


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True
    )


def _job_git_dir(ship, job_id: int, tmp_path: Path) -> tuple[str, str]:
    """A real repository whose change adds hostile HTML; stored as the job's git directory."""
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    (src / "app.py").write_text("def parse():\n    return 1\n")
    _git(src, "add", ".")
    _git(src, "commit", "-qm", "base")
    (src / "app.py").write_text("def parse():\n    return '<script>alert(\"diff\")</script>'\n")
    _git(src, "commit", "-qam", "change")
    _git(tmp_path, "clone", "-q", "--bare", str(src), str(ship.settings.job_dirs.git(job_id)))
    out = subprocess.run(["git", "rev-parse", "HEAD~1", "HEAD"], cwd=src, check=True, capture_output=True, text=True)
    return tuple(out.stdout.split())


def test_untrusted_text_is_escaped_and_diff_coloured(client, ship, add_job, tmp_path):
    hostile = "<script>alert('x')</script>"
    report = gate_report(False, 40.0, reason=f"uncovered {hostile}")
    job_id = add_job(state="awaiting_review", title=f"Title {hostile}", body="Body <img src=x onerror=alert(1)>",
                     reason=hostile, gates=[report], events=[("agent", hostile)], pr_state="open")  # fmt: skip
    base, head = _job_git_dir(ship, job_id, tmp_path)
    with ship.store.session() as s:
        job = s.get(Job, job_id)
        job.base_sha, job.head_sha = base, head
        s.query(PullRequest).filter_by(job_id=job_id).one().url = "javascript:alert(1)"

    page = client.get(f"/jobs/{job_id}").text
    assert "<script>alert(" not in page and "<img src=x" not in page and 'href="javascript:' not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # Highlighted: tokens in spans, their text escaped.
    code_cells = [re.sub(r"</?span[^>]*>", "", c) for c in re.findall(r"<code>([+−].*?)</code>", page)]
    assert "+    return &#39;&lt;script&gt;alert(&#34;diff&#34;)&lt;/script&gt;&#39;" in code_cells
    assert re.search(r'<tr class="add[^"]*"[^>]*>', page) and "−    return 1" in code_cells
    assert '<td class="fail">fail</td>' in page and "src/app.py" in page  # gate check and uncovered lines
    listing = client.get("/").text
    assert "<script>alert(" not in listing.replace("<script nonce=", "")


def test_gate_reports_of_any_shape_render(client, add_job):
    odd = [
        {"passed": True},
        {"checks": "not a list", "extra_field": {"k": [1, 2]}},
        {
            "passed": False,
            "checks": [
                None,
                {"name": "extra:lint", "passed": False, "reason": "E501", "details": {"output_tail": "x"}},
            ],
        },
        None,
    ]
    job_id = add_job(state="blocked", gates=odd)
    page = client.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    assert page.text.count('class="card gate-report"') == 3
    assert "(unreadable check)" in page.text and "<td>lint</td>" in page.text and "extra_field" in page.text
    assert "Not gated." in page.text


def test_missing_job_is_a_404_page(client):
    page = client.get("/jobs/999")
    assert page.status_code == 404 and "job 999 does not exist" in page.text


def test_review_inbox_lists_waiting_jobs_oldest_first(client, ship, add_job):
    first = add_job(state="awaiting_plan_approval", title="Plan waits")
    second = add_job(state="awaiting_review", title="PR waits")
    add_job(state="running", title="Busy")
    set_state(ship, second, "awaiting_review")  # touch: newer
    text = client.get("/reviews").text
    assert text.index(f'data-job="{first}"') < text.index(f'data-job="{second}"')
    assert "Busy" not in text and ">plan</span>" in text and ">pull request</span>" in text
    api = client.get("/api/reviews").json()
    assert [j["id"] for j in api] == [first, second]


def test_outcomes_page_shows_headline_and_labels_replays(client, add_job):
    add_job(state="merged", usage=[("small", 0.40)], gates=[gate_report(True, 88.0)])
    add_job(state="blocked", usage=[("small", 0.60)])
    add_job(state="merged", cassette="/c.json", usage=[("replay-model", 0.05)])
    page = client.get("/outcomes").text
    headline = re.findall(r'data-metric="cost_per_merged_pr">([^<]*)<', page)
    assert headline == ["$1.0000", "$0.0500"]  # model work first, replays second
    assert page.index("Scripted replays") < page.index('id="scripted"')
    assert 'replay-model <span class="tag replay">scripted replay</span>' in page
    assert client.get("/outcomes?days=0").status_code == 400
    api = client.get("/api/outcomes?days=7").json()
    assert api["real"]["cost_per_merged_pr_usd"] == pytest.approx(1.0)
    assert api["scripted"]["spend_usd"] == pytest.approx(0.05)


def test_pages_send_a_content_security_policy(client):
    response = client.get("/")
    assert "script-src 'nonce-" in response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in response.text


def test_a_broken_database_gives_an_error_page_with_the_cause(ship, add_job):
    add_job(state="running")
    with ship.store.engine.begin() as conn:
        conn.execute(text("DROP TABLE model_usage"))
    with api_client(ship, raise_server_exceptions=False) as client:
        page = client.get("/outcomes")
        api = client.get("/api/outcomes")
        assert client.get("/nope").status_code == 404
    assert page.status_code == 500 and "internal error: OperationalError" in page.text and "model_usage" in page.text
    assert api.status_code == 500 and "no such table: model_usage" in api.json()["error"]

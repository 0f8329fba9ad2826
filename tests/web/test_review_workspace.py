"""The reviewer's workspace: file-by-file diff with line numbers and coverage marks, the plan
open, the decision after ticket/plan/diff, Approve saying it merges, Reject/Cancel confirmed."""

from __future__ import annotations

import re
import subprocess

from orchestrator.store.tables import Job
from orchestrator.web.diff_view import diff_files
from tests.web.store_rows import gate_report

DIFF = """ src/app.py | 3 ++-
diff --git a/src/app.py b/src/app.py
index 1..2 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@
 def parse(x):
-    return 1
+    if x is None:
+        return 0
+    return 2
diff --git a/tests/test_app.py b/tests/test_app.py
--- a/tests/test_app.py
+++ b/tests/test_app.py
@@ -10,0 +11 @@
+    assert parse(None) == 0
"""


def test_diff_is_split_by_file_with_line_numbers_and_coverage_marks():
    report = gate_report(False, 50.0)
    report["checks"][1]["details"] = {"uncovered": {"src/app.py": ["3"]}, "not_in_report": []}
    app, tests = diff_files(DIFF, report)
    assert (app.path, app.added, app.removed) == ("src/app.py", 3, 1)
    rows = [(line.kind, line.old, line.new, line.mark) for line in app.lines]
    assert rows == [
        ("hunk", None, None, ""),
        ("ctx", 1, 1, ""),
        ("del", 2, None, ""),
        ("add", None, 2, "covered-or-not-executable"),
        ("add", None, 3, "uncovered"),
        ("add", None, 4, "covered-or-not-executable"),
    ]
    assert tests.path == "tests/test_app.py"
    assert [(line.new, line.mark) for line in tests.lines if line.kind == "add"] == [(11, "")]
    assert diff_files(DIFF, {"checks": "garbage"})[0].lines[3].mark == ""  # any stored shape renders


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def job_with_diff(ship, add_job, tmp_path) -> int:
    """A job waiting for review whose change (app.py line 2) sits in its job git directory."""
    report = gate_report(False, 0.0)
    report["checks"][1]["details"] = {"uncovered": {"app.py": ["2"]}, "not_in_report": []}
    job_id = add_job(state="awaiting_review", pr_state="open", gates=[report], events=[("plan", "1. handle None")])
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    (src / "app.py").write_text("def parse():\n    return 1\n")
    _git(src, "add", ".")
    _git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    (src / "app.py").write_text("def parse():\n    return 2\n")
    _git(src, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "change")
    _git(tmp_path, "clone", "-q", "--bare", str(src), str(ship.settings.job_dirs.git(job_id)))
    base, head = subprocess.run(
        ["git", "rev-parse", "HEAD~1", "HEAD"], cwd=src, check=True, capture_output=True, text=True
    ).stdout.split()
    with ship.store.session() as s:
        job = s.get(Job, job_id)
        job.base_sha, job.head_sha = base, head
    return job_id


def test_job_page_reads_ticket_plan_diff_then_decision(client, ship, add_job, tmp_path):
    job_id = job_with_diff(ship, add_job, tmp_path)
    page = client.get(f"/jobs/{job_id}").text
    order = [page.index(marker) for marker in ("<h2>Ticket</h2>", 'id="diff"', 'id="decision-form"')]
    assert order == sorted(order), "the decision form must come after the ticket and the diff"
    assert re.search(
        r'<tr class="add cov-uncovered" data-path="app.py" data-line="2"><td class="ln">'
        r'<button type="button" class="line-comment"[^>]*>\+</button> </td><td class="ln">2</td>',
        page,
    )
    assert ">Approve and merge</button>" in page
    assert 'id="reject" data-confirm="Reject: the pull request is closed' in page
    assert 'id="cancel" data-confirm="Cancel job' in page
    assert '<details class="card"><summary>Plan' not in page  # the plan is not folded away

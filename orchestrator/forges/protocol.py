"""The forge protocol: what every forge implements (the workflow's ``Forge``), and the rules it keeps.

What a new forge implements (GitLab through python-gitlab would be one more file,
``orchestrator/forges/gitlab.py``, and one branch in :func:`orchestrator.forges.make_forge`):

Every capability is named by :class:`workflows.ports.Forge`, and every forge implements each
one (``repo`` is the repository row's ``url``: a path for ``local``, ``owner/name`` for ``github``);
what a forge cannot do it answers with the documented "not here" value, never by lacking the method:

- ``name`` — the value of ``Repository.forge`` it serves.
- ``drafts`` — True when ``open_pull_request(draft=True)`` opens a draft pull request (repositories
  with ``pull_request.draft: true`` in ``.shipyard.yml``); False: ``draft`` is ignored.
- ``clone(repo, base_branch, dest_git_dir, worktree) -> sha`` — fetch the base branch into a bare
  git dir kept apart from the work tree (the sandbox sees only the work tree); return the base SHA.
- ``push_branch(repo, git_dir, branch, sha)`` — point ``branch`` at ``sha`` on the forge; force and
  idempotent (a new attempt replaces the last one).
- ``push_job_ref(repo, git_dir, job_id, sha)`` — point the job's hidden ref ``refs/shipyard/jobs/<id>``
  (``workflows.ports.job_ref``) at ``sha``: force, idempotent. Not a branch (no ``refs/heads``), so
  no branch list, clone or forge page shows it; its history carries the job's base and every
  attempt's snapshot commit, so another host can resume the job (``workflows/job_refs.py``).
- ``fetch_job_ref(repo, git_dir, job_id) -> sha | None`` — fetch it into ``git_dir`` under the same
  name; None when the forge has none.
- ``delete_job_ref(repo, job_id)`` — idempotent; called once the job is final
  (``orchestrator/housekeeping/forge_refs.py``).
- ``delete_branch(repo, branch)`` — idempotent; removes the branch a job pushed when the job ended
  with no pull request on it (a worker killed between the push and the pull request, then the job
  failed): no branch of Shipyard's is left without a pull request.
- ``job_ref_ids(repo) -> [job_id]`` — the job refs the forge holds; the sweep deletes those of
  final jobs (one re-created by a snapshot push still in flight when its job was cancelled).
- ``open_pull_request(repo, *, branch, base, title, body, draft=False) -> PullRequestInfo`` —
  idempotent: when a PR is already open for ``branch``, update it and return it (``draft=False``
  marks a draft found open ready for review).
- ``update_pull_request(repo, number, *, body)``, ``close_pull_request(repo, number)`` — idempotent.
- ``merge_pull_request(repo, number) -> merge_sha`` — idempotent (already merged: its merge
  commit); a refusal a person can fix (protection, conflicts) raises ``MergeRefused`` carrying
  the forge's own message; the job goes back to waiting for review.
- ``comment(repo, number, body) -> bool`` — False: no comments on this forge.
- ``ask_author(repo, number, question) -> bool`` — triage's question on the ticket's issue, and the
  ``shipyard:needs-info`` label; False: no issues on this forge.
- ``report_check(repo, sha, check: CheckRun) -> id | None`` — the gate as the
  ``shipyard/gate`` check; ``ChecksRefused`` when the credentials may not publish checks; None: no
  check runs on this forge.

Rules every forge keeps:

- Errors are ``ForgeError`` with the forge's message and the repository/PR named; a missing or
  invalid setting raises ``ForgeConfigError`` (the job is blocked with the setting to give).
- Credentials stay in the orchestrator: never in a URL, a git config file, argv, a log, an event,
  a PR body or the sandbox; error text is scrubbed of them.
- Rate limits and 5xx are retried inside the forge; the workflow sees only success or a reason.
- Intake (webhooks, polling) lives in ``orchestrator/intake``, not in the forge.
- Tests drive it through its real client library against a local emulator of the forge's API
  and git over HTTP (see ``orchestrator/emulators/github``).
"""

from __future__ import annotations

from workflows.ports import CheckConclusion, CheckRun, Forge, PullRequestInfo

__all__ = ["Forge", "PullRequestInfo", "CheckConclusion", "CheckRun", "CHECK_NAME"]

CHECK_NAME = "shipyard/gate"
"""Name of the check run a hosted forge shows on the pull request's head commit."""

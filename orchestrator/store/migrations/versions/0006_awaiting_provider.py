"""awaiting_provider is an active job state: the one-active-job-per-ticket index counts it

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD = "state IN ('awaiting_budget', 'awaiting_plan_approval', 'awaiting_review', 'queued', 'running')"
NEW = (
    "state IN ('awaiting_budget', 'awaiting_plan_approval', 'awaiting_provider', 'awaiting_review', "
    "'queued', 'running')"
)


def _recreate(predicate: str) -> None:
    op.drop_index("uq_jobs_one_active_per_ticket", table_name="jobs")
    op.create_index(
        "uq_jobs_one_active_per_ticket",
        "jobs",
        ["ticket_id"],
        unique=True,
        sqlite_where=sa.text(predicate),
        postgresql_where=sa.text(predicate),
    )


def upgrade() -> None:
    _recreate(NEW)


def downgrade() -> None:
    _recreate(OLD)

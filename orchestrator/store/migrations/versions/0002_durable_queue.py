"""durable queue: unique ticket external id, one active job per ticket, webhook deliveries, dispatch time

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ACTIVE = "state IN ('awaiting_budget', 'awaiting_plan_approval', 'awaiting_review', 'queued', 'running')"


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.create_unique_constraint("uq_tickets_external", ["repository_id", "source", "external_id"])
    op.create_index(
        "uq_jobs_one_active_per_ticket",
        "jobs",
        ["ticket_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("delivery_id"),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_index("uq_jobs_one_active_per_ticket", table_name="jobs")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_constraint("uq_tickets_external", type_="unique")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dispatched_at")

"""queue policy and retention: job priority, a repository's cap on running jobs, diffs kept after a job's directory
is removed

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("dir_removed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("repositories") as batch:
        batch.add_column(sa.Column("max_running_jobs", sa.Integer(), nullable=True))
    op.create_table(
        "kept_diffs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("old_sha", sa.String(length=64), nullable=False),
        sa.Column("new_sha", sa.String(length=64), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "old_sha", "new_sha", name="uq_kept_diffs_commits"),
    )
    op.create_index("ix_jobs_dispatch_order", "jobs", ["state", "priority", "id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_dispatch_order", table_name="jobs")
    op.drop_table("kept_diffs")
    with op.batch_alter_table("repositories") as batch:
        batch.drop_column("max_running_jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("dir_removed_at")
        batch.drop_column("priority")

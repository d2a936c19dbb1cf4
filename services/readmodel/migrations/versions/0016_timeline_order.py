"""ix_timeline_entry_case on (case_id, occurred_at, seq, process)

A timeline is read in the order things happened, with or without its process: with the process
second in the index, a read without it (the registry's timeline API) could not walk the index in
order and sorted the whole case to find a page. Last, the process still answers a read for one
process's case from the index alone.

Revision ID: 0016_timeline_order
Revises: 0015_dashboard_counts
"""

from alembic import op

revision = "0016_timeline_order"
down_revision = "0015_dashboard_counts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_index("ix_timeline_entry_case")
        batch.create_index(
            "ix_timeline_entry_case", ["case_id", "occurred_at", "seq", "process"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_index("ix_timeline_entry_case")
        batch.create_index(
            "ix_timeline_entry_case", ["case_id", "process", "occurred_at", "seq"], unique=False
        )

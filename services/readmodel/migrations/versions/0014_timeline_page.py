"""ix_timeline_entry_case on (case_id, process, occurred_at, seq)

A case page reads its timeline a page at a time for one process's case: with the process in the
index, finding where a page starts is an index-only scan however far into a long case it lies,
instead of reading every skipped row from the table.

Revision ID: 0014_timeline_page
Revises: 0011_timeline_trace
"""

from alembic import op

revision = "0014_timeline_page"
down_revision = "0011_timeline_trace"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_index("ix_timeline_entry_case")
        batch.create_index(
            "ix_timeline_entry_case", ["case_id", "process", "occurred_at", "seq"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_index("ix_timeline_entry_case")
        batch.create_index("ix_timeline_entry_case", ["case_id", "occurred_at", "seq"], unique=False)

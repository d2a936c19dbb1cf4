"""Indexes the operator's dashboard counts by: cases by (process, state), timeline entries by time

The dashboard counts every case by process and state and the last 24 hours' entries by hour on
every view: with these the counts read an index instead of every case row, and the hour counts
only the day's entries instead of the whole timeline.

Revision ID: 0015_dashboard_counts
Revises: 0014_timeline_page
"""

from alembic import op

revision = "0015_dashboard_counts"
down_revision = "0014_timeline_page"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_case_process_state", "case", ["process", "state"], unique=False)
    op.create_index("ix_timeline_entry_occurred", "timeline_entry", ["occurred_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_timeline_entry_occurred", table_name="timeline_entry")
    op.drop_index("ix_case_process_state", table_name="case")

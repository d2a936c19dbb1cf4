"""timeline_entry.trace_id

Each timeline row names the trace of the agency event that caused it, so an operator goes from
the row to the trace (services/tracing.py).

Revision ID: 0011_timeline_trace
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0011_timeline_trace"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.add_column(sa.Column("trace_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_column("trace_id")

"""deadline breach history (ever_breached, breached_at, breach_withdrawn, cancelled_at) and the
indexes the statistics read through

A breached deadline's row used to be overwritten to met or cancelled, losing who was late. The
rows now keep the breach. Existing rows are filled from what they still show: a deadline still
breached, or a duty met with a positive lateness. A breach later cancelled left no trace in the
old rows; replaying LAWLINK_OUT into an empty read model recovers those too.

Revision ID: 0010_breach_history
Revises: 0008_step_times
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_breach_history"
down_revision = "0008_step_times"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadline") as batch:
        batch.add_column(sa.Column("ever_breached", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(
            sa.Column("breach_withdrawn", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE deadline SET ever_breached = TRUE, breached_at = due_at "
        "WHERE status = 'breached' OR (status = 'met' AND nature = 'duty' AND late_seconds > 0)"
    )
    # Covering: the monthly counts group by status, breach, rule and party.
    op.create_index(
        "ix_deadline_nature_due", "deadline", ["nature", "due_at", "status", "ever_breached", "rule", "party"]
    )
    op.create_index(
        "ix_deadline_rule_met", "deadline", ["rule", "met_at", "status", "ever_breached", "party"]
    )
    op.create_index("ix_deadline_party_due", "deadline", ["party", "due_at"])
    # The open-deadline index keeps its leading (status, due_at) and covers the monthly counts.
    op.drop_index("ix_deadline_open_due", table_name="deadline")
    op.create_index(
        "ix_deadline_open_due", "deadline", ["status", "due_at", "nature", "ever_breached", "rule", "party"]
    )
    op.create_index("ix_timeline_entry_type_time", "timeline_entry", ["type", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_deadline_open_due", table_name="deadline")
    op.create_index("ix_deadline_open_due", "deadline", ["status", "due_at"])
    op.drop_index("ix_timeline_entry_type_time", table_name="timeline_entry")
    op.drop_index("ix_deadline_party_due", table_name="deadline")
    op.drop_index("ix_deadline_rule_met", table_name="deadline")
    op.drop_index("ix_deadline_nature_due", table_name="deadline")
    with op.batch_alter_table("deadline") as batch:
        batch.drop_column("cancelled_at")
        batch.drop_column("breached_at")
        batch.drop_column("breach_withdrawn")
        batch.drop_column("ever_breached")

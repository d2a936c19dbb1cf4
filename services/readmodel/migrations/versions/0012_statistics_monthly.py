"""statistics_event_month and statistics_deadline_month: the statistics' monthly counts

The registry keeps them as it projects events (services/statistics/aggregate.py); here they are
created and filled by recounting the read model's timeline entries and deadline rows, so a
read model that already holds cases shows the same figures after the upgrade as before.

Revision ID: 0012_statistics_monthly
Revises: 0011_timeline_trace
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012_statistics_monthly"
down_revision = "0011_timeline_trace"
branch_labels = None
depends_on = ("0010_breach_history",)  # and 0008_step_times below it


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "statistics_event_month",
        sa.Column("type", _text(80), nullable=False),
        sa.Column("month", _text(7), nullable=False),
        sa.Column("process", _text(40), nullable=False),
        sa.Column("agency", _text(40), nullable=False),
        sa.Column("detail", _text(80), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("type", "month", "process", "agency", "detail"),
    )
    op.create_table(
        "statistics_deadline_month",
        sa.Column("basis", _text(3), nullable=False),
        sa.Column("rule", _text(80), nullable=False),
        sa.Column("month", _text(7), nullable=False),
        sa.Column("party", _text(40), nullable=False),
        sa.Column("process", _text(40), nullable=False),
        sa.Column("nature", _text(20), nullable=False),
        sa.Column("status", _text(20), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("basis", "rule", "month", "party", "process", "nature", "status", "late"),
    )
    op.create_index("ix_statistics_deadline_month_month", "statistics_deadline_month", ["basis", "month"])
    # The counts of what the read model already holds (the registry adds the rest).
    from services.statistics.aggregate import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_statistics_deadline_month_month", table_name="statistics_deadline_month")
    op.drop_table("statistics_deadline_month")
    op.drop_table("statistics_event_month")

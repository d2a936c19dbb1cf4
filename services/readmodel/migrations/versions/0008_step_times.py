"""timeline_entry.recorded_at; deadline.nature, anchor, met_at, late_seconds

A step is shown at the time it happened with the time Lawlink recorded it beside it (agency
systems sync late), and a deadline keeps when its step was done and how late.

Revision ID: 0008_step_times
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008_step_times"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("timeline_entry") as batch:
        batch.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("deadline") as batch:
        batch.add_column(
            sa.Column("nature", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False, server_default="duty")
        )
        batch.add_column(
            sa.Column(
                "anchor", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False, server_default="occurred_at"
            )
        )
        batch.add_column(sa.Column("met_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("late_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadline") as batch:
        batch.drop_column("late_seconds")
        batch.drop_column("met_at")
        batch.drop_column("anchor")
        batch.drop_column("nature")
    with op.batch_alter_table("timeline_entry") as batch:
        batch.drop_column("recorded_at")

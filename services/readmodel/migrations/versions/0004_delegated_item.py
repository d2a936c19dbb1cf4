"""delegated_item: township power delegations (process 4)

Revision ID: 0004_delegated_item
Revises: 0001
Create Date: 2026-11-25 09:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004_delegated_item"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delegated_item",
        sa.Column("township", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("case_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("workflow_id", sqlmodel.sql.sqltypes.AutoString(length=110), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name_zh", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name_en", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("original_department", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_review_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counters", sa.JSON(), nullable=False),
        sa.Column("updated_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("delegated_item", schema=None) as batch_op:
        batch_op.create_index("ix_delegated_item_case", ["case_id"], unique=False)
        batch_op.create_index("ix_delegated_item_next_review", ["next_review_at"], unique=False)
        batch_op.create_index("ix_delegated_item_township_state", ["township", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("delegated_item", schema=None) as batch_op:
        batch_op.drop_index("ix_delegated_item_township_state")
        batch_op.drop_index("ix_delegated_item_next_review")
        batch_op.drop_index("ix_delegated_item_case")

    op.drop_table("delegated_item")

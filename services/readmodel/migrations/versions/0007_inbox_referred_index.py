"""Index dispute_task.referred_to, so the coordinator inbox's OR query uses indexes.

Revision ID: 0007_inbox_referred_index
Revises: 0002_dispute_task
"""

from alembic import op

revision = "0007_inbox_referred_index"
down_revision = "0002_dispute_task"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dispute_task_referred_to", "dispute_task", ["referred_to"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_dispute_task_referred_to", table_name="dispute_task")

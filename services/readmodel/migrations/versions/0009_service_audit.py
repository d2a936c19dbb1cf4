"""service_audit: who replayed or changed state through the registry's and notifier's APIs

Revision ID: 0009_service_audit
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_service_audit"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("server", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("service", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("service_audit") as batch:
        batch.create_index("ix_service_audit_at", ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("service_audit") as batch:
        batch.drop_index("ix_service_audit_at")
    op.drop_table("service_audit")

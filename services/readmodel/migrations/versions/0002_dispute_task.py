"""coordinator inbox: dispute_task

Revision ID: 0002_dispute_task
Revises: 0001
Create Date: 2026-11-25 12:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0002_dispute_task'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dispute_task',
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('closed', sa.Boolean(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('enforcement_case_no', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.Column('summary', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=True),
    sa.Column('coordinator_office', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('referred_to', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('claimed_by_name', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('suggested_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('suggested_reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('designated_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('interim_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=110), nullable=False),
    sa.Column('parties', sa.JSON(), nullable=False),
    sa.Column('filing_dates', sa.JSON(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_seq', sa.Integer(), nullable=False),
    sa.Column('claim_seq', sa.Integer(), nullable=False),
    sa.Column('interim_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id')
    )
    with op.batch_alter_table('dispute_task', schema=None) as batch_op:
        batch_op.create_index('ix_dispute_task_case', ['case_id'], unique=False)
        batch_op.create_index('ix_dispute_task_claimed_by', ['claimed_by'], unique=False)
        batch_op.create_index('ix_dispute_task_office', ['coordinator_office'], unique=False)
        batch_op.create_index('ix_dispute_task_state_due', ['state', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('dispute_task', schema=None) as batch_op:
        batch_op.drop_index('ix_dispute_task_state_due')
        batch_op.drop_index('ix_dispute_task_office')
        batch_op.drop_index('ix_dispute_task_claimed_by')
        batch_op.drop_index('ix_dispute_task_case')

    op.drop_table('dispute_task')

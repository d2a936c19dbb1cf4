"""referral_content, referral_access: encrypted discipline referral content (process 3)

Revision ID: 0003_referral_content
Revises: 0001
Create Date: 2026-11-25 09:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003_referral_content'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('referral_content',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=110), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('source_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('referring_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('nonce', sa.LargeBinary(length=16), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    with op.batch_alter_table('referral_content', schema=None) as batch_op:
        batch_op.create_index('ix_referral_content_workflow', ['workflow_id', 'occurred_at'], unique=False)

    op.create_table('referral_access',
    sa.Column('workflow_id', sqlmodel.sql.sqltypes.AutoString(length=110), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('referring_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('confirming_agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('commissions', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('workflow_id')
    )
    with op.batch_alter_table('referral_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_access_case_id'), ['case_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('referral_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_access_case_id'))
    op.drop_table('referral_access')
    with op.batch_alter_table('referral_content', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_content_workflow')
    op.drop_table('referral_content')

"""notifier: notification, notification_read, webhook, delivery

Revision ID: 0006_notifications
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_notifications'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('notification_id', name='uq_delivery_notification')
    )
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_status_agency', ['status', 'agency'], unique=False)

    op.create_table('notification',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('domain_event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('event_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('process', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('case_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('title_zh', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('action_zh', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True),
    sa.Column('action_en', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counting', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=True),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('confidential', sa.Boolean(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_agency_created', ['agency', 'created_at'], unique=False)
        batch_op.create_index('ix_notification_case', ['process', 'case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_domain_event_id'), ['domain_event_id'], unique=False)

    op.create_table('notification_read',
    sa.Column('notification_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('user', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('notification_id', 'user')
    )
    op.create_table('webhook',
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('agency')
    )


def downgrade() -> None:
    op.drop_table('webhook')
    op.drop_table('notification_read')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_domain_event_id'))
        batch_op.drop_index('ix_notification_case')
        batch_op.drop_index('ix_notification_agency_created')

    op.drop_table('notification')
    with op.batch_alter_table('delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_delivery_status_agency')

    op.drop_table('delivery')

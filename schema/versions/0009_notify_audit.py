"""notify_audit: external notification channels, alert preferences, the audit trail

notification_channels holds where a user's alerts go besides the console (Telegram, e-mail,
a webhook); each channel's configuration, secrets included, is one vault ciphertext
(`target_enc`, CHECKed to look like one) beside the master key's id, plus how delivery to it
is going. notification_preferences holds one mode (ON / SILENT / OFF) per user per alert
kind. audit_events records security-relevant actions (logins, strategy edits, start/stop,
LIVE confirmations, the kill switch, unlocks, key rotation); its user is kept NULL for an
address with no account. system_logs gains an index for the Logs screen's component filter.
The three new per-user tables get row-level security on PostgreSQL like every other
(0005_security).

Revision ID: 0009_notify_audit
Revises: 0008_backtests
Create Date: 2026-12-06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tui_trader.db.types

_ACTING = ("current_setting('app.user_id', true) = '*' OR "
           "user_id = NULLIF(NULLIF(current_setting('app.user_id', true), ''), '*')::uuid")
PER_USER = ("notification_channels", "notification_preferences", "audit_events")

revision = '0009_notify_audit'
down_revision = '0008_backtests'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.Enum('LOGIN', 'LOGIN_FAILED', 'LOGOUT', 'ACCOUNT_UNLOCKED', 'STRATEGY_CREATED', 'STRATEGY_EDITED', 'STRATEGY_DELETED', 'STRATEGY_STARTED', 'STRATEGY_STOPPED', 'LIVE_CONFIRMED', 'KILL_SWITCH', 'RISK_RULES_CHANGED', 'RISK_UNLOCKED', 'KEY_ROTATED', 'BROKER_ADDED', 'BROKER_REMOVED', 'CHANNEL_ADDED', 'CHANNEL_REMOVED', 'DATA_PRUNED', name='action', native_enum=False, create_constraint=True, length=22), nullable=False),
    sa.Column('outcome', sa.Enum('OK', 'FAILED', 'REFUSED', name='outcome', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('details', tui_trader.db.types.JSONType, nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_created', ['created_at'], unique=False)
        batch_op.create_index('ix_audit_events_user_created', ['user_id', 'created_at'], unique=False)

    op.create_table('notification_channels',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('TELEGRAM', 'EMAIL', 'WEBHOOK', name='kind', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('target_enc', sqlmodel.sql.sqltypes.AutoString(length=4096), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('hint', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('last_attempt_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_success_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("target_enc LIKE 'v1:%'", name=op.f('ck_notification_channels_target_encrypted')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_channels_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels')),
    sa.UniqueConstraint('user_id', 'label', name=op.f('uq_notification_channels_user_id_label'))
    )
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channels_user_id'), ['user_id'], unique=False)

    op.create_table('notification_preferences',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('FILL', 'REJECTION', 'STOPLOSS', 'RISK_WARNING', 'RISK_HALT', 'TOKEN_EXPIRY', 'ENGINE_DOWN', 'SYSTEM', name='kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('mode', sa.Enum('ON', 'SILENT', 'OFF', name='mode', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'kind', name=op.f('uq_notification_preferences_user_id_kind'))
    )
    with op.batch_alter_table('system_logs', schema=None) as batch_op:
        batch_op.create_index('ix_system_logs_component_created', ['component', 'created_at'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in PER_USER:
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(f"CREATE POLICY acting_user ON {table} USING ({_ACTING}) "
                       f"WITH CHECK ({_ACTING})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PER_USER:
            op.execute(f"DROP POLICY acting_user ON {table}")
    with op.batch_alter_table('system_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_system_logs_component_created')

    op.drop_table('notification_preferences')
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channels_user_id'))

    op.drop_table('notification_channels')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_user_created')
        batch_op.drop_index('ix_audit_events_created')

    op.drop_table('audit_events')

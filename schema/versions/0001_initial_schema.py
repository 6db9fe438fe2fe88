"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel
import tui_trader.db.types
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('candles',
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('timeframe', sa.Enum('minute', '3minute', '5minute', '15minute', '30minute', '60minute', 'day', name='timeframe', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('ts', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('open', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('high', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('low', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('close', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('volume', sa.BigInteger(), nullable=False),
    sa.Column('oi', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('CAST(low AS NUMERIC) <= CAST(high AS NUMERIC)', name=op.f('ck_candles_low_le_high')),
    sa.PrimaryKeyConstraint('symbol', 'exchange', 'timeframe', 'ts', name=op.f('pk_candles'))
    )
    op.create_table('indicator_values',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('timeframe', sa.Enum('minute', '3minute', '5minute', '15minute', '30minute', '60minute', 'day', name='timeframe', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('ts', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('values', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_values')),
    sa.UniqueConstraint('symbol', 'timeframe', 'name', 'ts', name=op.f('uq_indicator_values_symbol_timeframe_name_ts'))
    )
    op.create_table('instruments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('instrument_token', sa.BigInteger(), nullable=False),
    sa.Column('exchange_token', sa.BigInteger(), nullable=True),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('exchange', sa.Enum('NSE', 'BSE', 'NFO', 'BFO', 'MCX', 'CDS', name='exchange', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('instrument_type', sa.Enum('EQ', 'INDEX', 'FUT', 'CE', 'PE', name='instrument_type', native_enum=False, create_constraint=True, length=9), nullable=False),
    sa.Column('tick_size', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('lot_size', sa.Integer(), nullable=False),
    sa.Column('expiry', sa.Date(), nullable=True),
    sa.Column('strike', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('last_price', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('CAST(tick_size AS NUMERIC) > 0', name=op.f('ck_instruments_tick_size_positive')),
    sa.CheckConstraint('lot_size > 0', name=op.f('ck_instruments_lot_size_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments')),
    sa.UniqueConstraint('exchange', 'symbol', name=op.f('uq_instruments_exchange_symbol'))
    )
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_instruments_instrument_token'), ['instrument_token'], unique=False)
        batch_op.create_index(batch_op.f('ix_instruments_symbol'), ['symbol'], unique=False)

    op.create_table('order_book_snapshots',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ts', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('bids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('asks', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', 'ts', name=op.f('pk_order_book_snapshots'))
    )
    with op.batch_alter_table('order_book_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_order_book_snapshots_symbol_ts', ['symbol', 'ts'], unique=False)

    op.create_table('strategy_catalog',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('scheduled', 'ema_crossover', 'rsi', name='catalog_kind', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('parameters_schema', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategy_catalog')),
    sa.UniqueConstraint('kind', name=op.f('uq_strategy_catalog_kind'))
    )
    op.create_table('system_logs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('component', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('level', sa.Enum('INFO', 'WARNING', 'ERROR', 'CRITICAL', name='level', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_logs'))
    )
    with op.batch_alter_table('system_logs', schema=None) as batch_op:
        batch_op.create_index('ix_system_logs_created', ['created_at'], unique=False)

    op.create_table('ticks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ts', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('price', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('volume', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('CAST(price AS NUMERIC) > 0', name=op.f('ck_ticks_price_positive')),
    sa.PrimaryKeyConstraint('id', 'ts', name=op.f('pk_ticks'))
    )
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.create_index('ix_ticks_symbol_ts', ['symbol', 'ts'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('role', sa.Enum('trader', 'investor', 'admin', name='role', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('theme', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('last_login', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('failed_logins >= 0', name=op.f('ck_users_failed_logins_nonnegative')),
    sa.CheckConstraint('length(email) >= 3', name=op.f('ck_users_email_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=True)

    op.create_table('broker_accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('broker', sa.Enum('paper', 'kite', 'angel', 'upstox', 'icici', name='broker_kind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('api_key_enc', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('api_secret_enc', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True),
    sa.Column('access_token_enc', sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('broker_user_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('api_root', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('token_expires_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("access_token_enc IS NULL OR access_token_enc LIKE 'v1:%'", name=op.f('ck_broker_accounts_access_token_encrypted')),
    sa.CheckConstraint("api_key_enc IS NULL OR api_key_enc LIKE 'v1:%'", name=op.f('ck_broker_accounts_api_key_encrypted')),
    sa.CheckConstraint("api_secret_enc IS NULL OR api_secret_enc LIKE 'v1:%'", name=op.f('ck_broker_accounts_api_secret_encrypted')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_broker_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_broker_accounts')),
    sa.UniqueConstraint('user_id', 'label', name=op.f('uq_broker_accounts_user_id_label'))
    )
    with op.batch_alter_table('broker_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_broker_accounts_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('FILL', 'REJECTION', 'STOPLOSS', 'RISK', 'TOKEN_EXPIRY', 'SYSTEM', name='kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('severity', sa.Enum('INFO', 'WARNING', 'ERROR', 'CRITICAL', name='severity', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('is_read', sa.Boolean(), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'is_read'], unique=False)

    op.create_table('risk_rules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('daily_loss_limit', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('max_position_size', sa.Integer(), nullable=True),
    sa.Column('max_drawdown_pct', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('max_risk_per_trade', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('daily_loss_limit IS NULL OR CAST(daily_loss_limit AS NUMERIC) > 0', name=op.f('ck_risk_rules_daily_loss_limit_positive')),
    sa.CheckConstraint('max_drawdown_pct IS NULL OR (CAST(max_drawdown_pct AS NUMERIC) > 0 AND CAST(max_drawdown_pct AS NUMERIC) <= 100)', name=op.f('ck_risk_rules_max_drawdown_pct_range')),
    sa.CheckConstraint('max_position_size IS NULL OR max_position_size > 0', name=op.f('ck_risk_rules_max_position_size_positive')),
    sa.CheckConstraint('max_risk_per_trade IS NULL OR CAST(max_risk_per_trade AS NUMERIC) > 0', name=op.f('ck_risk_rules_max_risk_per_trade_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_risk_rules_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_rules')),
    sa.UniqueConstraint('user_id', name=op.f('uq_risk_rules_user_id'))
    )
    op.create_table('trading_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_special', sa.Boolean(), nullable=False),
    sa.Column('started_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('realized_pnl', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('orders_placed', sa.Integer(), nullable=False),
    sa.Column('notes', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trading_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trading_sessions')),
    sa.UniqueConstraint('user_id', 'day', name=op.f('uq_trading_sessions_user_id_day'))
    )
    op.create_table('user_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip_address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_sessions_token_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('user_strategies',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('catalog_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catalog_id'], ['strategy_catalog.id'], name=op.f('fk_user_strategies_catalog_id_strategy_catalog'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_strategies_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_strategies')),
    sa.UniqueConstraint('user_id', 'catalog_id', name=op.f('uq_user_strategies_user_id_catalog_id'))
    )
    with op.batch_alter_table('user_strategies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_strategies_catalog_id'), ['catalog_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_strategies_user_id'), ['user_id'], unique=False)

    op.create_table('strategies',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('broker_account_id', sa.Uuid(), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('kind', sa.Enum('scheduled', 'ema_crossover', 'rsi', name='strategy_kind', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('buy_time', sa.Time(), nullable=False),
    sa.Column('sell_time', sa.Time(), nullable=False),
    sa.Column('stop_loss', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('execution_mode', sa.Enum('PAPER', 'LIVE', name='execution_mode', native_enum=False, create_constraint=True, length=9), nullable=False),
    sa.Column('status', sa.Enum('created', 'running', 'stopped', name='strategy_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('last_run', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('CAST(stop_loss AS NUMERIC) > 0', name=op.f('ck_strategies_stop_loss_positive')),
    sa.CheckConstraint('buy_time < sell_time', name=op.f('ck_strategies_buy_before_sell')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_strategies_quantity_positive')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_strategies_broker_account_id_broker_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_strategies_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategies')),
    sa.UniqueConstraint('user_id', 'name', name=op.f('uq_strategies_user_id_name'))
    )
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_strategies_broker_account_id'), ['broker_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_strategies_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_strategies_symbol'), ['symbol'], unique=False)
        batch_op.create_index(batch_op.f('ix_strategies_user_id'), ['user_id'], unique=False)

    op.create_table('token_refresh_log',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('broker_account_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('expires_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_token_refresh_log_broker_account_id_broker_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_token_refresh_log_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_token_refresh_log'))
    )
    with op.batch_alter_table('token_refresh_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_token_refresh_log_broker_account_id'), ['broker_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_token_refresh_log_user_id'), ['user_id'], unique=False)

    op.create_table('backtest_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('strategy_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('PENDING', 'RUNNING', 'DONE', 'FAILED', name='backtest_status', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('strategy_snapshot', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('summary', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('trades', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('started_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_backtest_runs_strategy_id_strategies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_backtest_runs_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backtest_runs'))
    )
    with op.batch_alter_table('backtest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_backtest_runs_strategy_id'), ['strategy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_backtest_runs_user_id'), ['user_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('strategy_id', sa.Uuid(), nullable=True),
    sa.Column('broker_account_id', sa.Uuid(), nullable=True),
    sa.Column('intent_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('intent_state', sa.Enum('ARMED', 'FIRING', 'SENT', 'UNKNOWN', 'DONE', 'FAILED', name='intent_state', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('client_tag', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('trading_day', sa.Date(), nullable=False),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('side', sa.Enum('BUY', 'SELL', name='side', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('order_kind', sa.Enum('MARKET', 'LIMIT', 'SL', 'SL-M', name='order_kind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('reason', sa.Enum('BUY', 'SELL', 'STOPLOSS', 'EXIT', name='reason', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('trigger_price', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('status', sa.Enum('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'UNKNOWN', name='status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('broker_order_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('filled_quantity', sa.Integer(), nullable=False),
    sa.Column('average_price', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('raw_response', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('placed_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('filled_quantity >= 0 AND filled_quantity <= quantity', name=op.f('ck_orders_filled_within_quantity')),
    sa.CheckConstraint('price IS NULL OR CAST(price AS NUMERIC) > 0', name=op.f('ck_orders_price_positive')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_orders_quantity_positive')),
    sa.CheckConstraint('trigger_price IS NULL OR CAST(trigger_price AS NUMERIC) > 0', name=op.f('ck_orders_trigger_price_positive')),
    sa.ForeignKeyConstraint(['broker_account_id'], ['broker_accounts.id'], name=op.f('fk_orders_broker_account_id_broker_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_orders_strategy_id_strategies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('client_tag', name=op.f('uq_orders_client_tag')),
    sa.UniqueConstraint('intent_key', name=op.f('uq_orders_intent_key'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_broker_account_id'), ['broker_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_broker_order_id'), ['broker_order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_intent_state'), ['intent_state'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_strategy_id'), ['strategy_id'], unique=False)
        batch_op.create_index('ix_orders_user_created', ['user_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_user_id'), ['user_id'], unique=False)

    op.create_table('positions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('strategy_id', sa.Uuid(), nullable=True),
    sa.Column('symbol', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('exchange', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('average_price', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('ltp', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('unrealized_pnl', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('realized_pnl', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('stop_loss', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('target', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('status', sa.Enum('OPEN', 'CLOSED', 'PARTIALLY_CLOSED', name='position_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('opened_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_positions_strategy_id_strategies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_positions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions'))
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index('ix_positions_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index('uq_positions_open_per_strategy_instrument', ['strategy_id', 'symbol', 'exchange'], unique=True, sqlite_where=sa.text("status = 'OPEN'"), postgresql_where=sa.text("status = 'OPEN'"))

    op.create_table('risk_events',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('strategy_id', sa.Uuid(), nullable=True),
    sa.Column('rule', sa.Enum('DAILY_LOSS_LIMIT', 'MAX_POSITION_SIZE', 'MAX_DRAWDOWN_PCT', 'MAX_RISK_PER_TRADE', name='rule', native_enum=False, create_constraint=True, length=22), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('observed', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('limit_value', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_risk_events_strategy_id_strategies'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_risk_events_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_events'))
    )
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_events_strategy_id'), ['strategy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_events_user_id'), ['user_id'], unique=False)

    op.create_table('strategy_performance',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('strategy_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('total_trades', sa.Integer(), nullable=False),
    sa.Column('winning_trades', sa.Integer(), nullable=False),
    sa.Column('losing_trades', sa.Integer(), nullable=False),
    sa.Column('total_pnl', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('max_drawdown', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('sharpe_ratio', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('win_rate', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('metrics', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('total_trades >= 0 AND winning_trades >= 0 AND losing_trades >= 0', name=op.f('ck_strategy_performance_counts_nonnegative')),
    sa.ForeignKeyConstraint(['strategy_id'], ['strategies.id'], name=op.f('fk_strategy_performance_strategy_id_strategies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_strategy_performance_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_strategy_performance')),
    sa.UniqueConstraint('strategy_id', 'day', name=op.f('uq_strategy_performance_strategy_id_day'))
    )
    with op.batch_alter_table('strategy_performance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_strategy_performance_strategy_id'), ['strategy_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_strategy_performance_user_id'), ['user_id'], unique=False)

    op.create_table('order_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'REJECTED', 'UNKNOWN', name='status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('intent_state', sa.Enum('ARMED', 'FIRING', 'SENT', 'UNKNOWN', 'DONE', 'FAILED', name='intent_state', native_enum=False, create_constraint=True, length=11), nullable=False),
    sa.Column('filled_quantity', sa.Integer(), nullable=False),
    sa.Column('average_price', tui_trader.db.types.Money(precision=20, scale=6), nullable=True),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('raw', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_history_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_order_history_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_history'))
    )
    with op.batch_alter_table('order_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_history_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_history_user_id'), ['user_id'], unique=False)

    op.create_table('position_history',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('position_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.Enum('OPEN', 'INCREASE', 'DECREASE', 'CLOSE', name='position_action', native_enum=False, create_constraint=True, length=12), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('pnl', tui_trader.db.types.Money(precision=20, scale=6), nullable=False),
    sa.Column('created_at', tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_position_history_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_position_history_position_id_positions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_position_history_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position_history'))
    )
    with op.batch_alter_table('position_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_position_history_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_history_position_id'), ['position_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_position_history_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('position_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_position_history_user_id'))
        batch_op.drop_index(batch_op.f('ix_position_history_position_id'))
        batch_op.drop_index(batch_op.f('ix_position_history_order_id'))

    op.drop_table('position_history')
    with op.batch_alter_table('order_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_history_user_id'))
        batch_op.drop_index(batch_op.f('ix_order_history_order_id'))

    op.drop_table('order_history')
    with op.batch_alter_table('strategy_performance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_strategy_performance_user_id'))
        batch_op.drop_index(batch_op.f('ix_strategy_performance_strategy_id'))

    op.drop_table('strategy_performance')
    with op.batch_alter_table('risk_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_risk_events_strategy_id'))

    op.drop_table('risk_events')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index('uq_positions_open_per_strategy_instrument', sqlite_where=sa.text("status = 'OPEN'"), postgresql_where=sa.text("status = 'OPEN'"))
        batch_op.drop_index('ix_positions_user_status')

    op.drop_table('positions')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_user_id'))
        batch_op.drop_index('ix_orders_user_created')
        batch_op.drop_index(batch_op.f('ix_orders_strategy_id'))
        batch_op.drop_index(batch_op.f('ix_orders_status'))
        batch_op.drop_index(batch_op.f('ix_orders_intent_state'))
        batch_op.drop_index(batch_op.f('ix_orders_event_id'))
        batch_op.drop_index(batch_op.f('ix_orders_broker_order_id'))
        batch_op.drop_index(batch_op.f('ix_orders_broker_account_id'))

    op.drop_table('orders')
    with op.batch_alter_table('backtest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_backtest_runs_user_id'))
        batch_op.drop_index(batch_op.f('ix_backtest_runs_strategy_id'))

    op.drop_table('backtest_runs')
    with op.batch_alter_table('token_refresh_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_token_refresh_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_token_refresh_log_broker_account_id'))

    op.drop_table('token_refresh_log')
    with op.batch_alter_table('strategies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_strategies_user_id'))
        batch_op.drop_index(batch_op.f('ix_strategies_symbol'))
        batch_op.drop_index(batch_op.f('ix_strategies_status'))
        batch_op.drop_index(batch_op.f('ix_strategies_broker_account_id'))

    op.drop_table('strategies')
    with op.batch_alter_table('user_strategies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_strategies_user_id'))
        batch_op.drop_index(batch_op.f('ix_user_strategies_catalog_id'))

    op.drop_table('user_strategies')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
    op.drop_table('trading_sessions')
    op.drop_table('risk_rules')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_unread')

    op.drop_table('notifications')
    with op.batch_alter_table('broker_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_broker_accounts_user_id'))

    op.drop_table('broker_accounts')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))

    op.drop_table('users')
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.drop_index('ix_ticks_symbol_ts')

    op.drop_table('ticks')
    with op.batch_alter_table('system_logs', schema=None) as batch_op:
        batch_op.drop_index('ix_system_logs_created')

    op.drop_table('system_logs')
    op.drop_table('strategy_catalog')
    with op.batch_alter_table('order_book_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_order_book_snapshots_symbol_ts')

    op.drop_table('order_book_snapshots')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_instruments_symbol'))
        batch_op.drop_index(batch_op.f('ix_instruments_instrument_token'))

    op.drop_table('instruments')
    op.drop_table('indicator_values')
    op.drop_table('candles')

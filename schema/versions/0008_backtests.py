"""backtests: a stored run says on what it ran and keeps its equity curve

backtest_runs gains the kind, the candles' symbol, interval, source and range, and the
equity curve ([time, rupees] points); the settings, the strategy snapshot, the summary and
the trades already had their JSON columns.

Revision ID: 0008_backtests
Revises: 0007_risk
Create Date: 2026-12-06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import tui_trader.db.types

revision = "0008_backtests"
down_revision = "0007_risk"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column("symbol", sqlmodel.sql.sqltypes.AutoString(length=40),
                                      nullable=True))
        batch_op.add_column(sa.Column("interval",
                                      sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
        batch_op.add_column(sa.Column("data_source",
                                      sqlmodel.sql.sqltypes.AutoString(length=300),
                                      nullable=True))
        batch_op.add_column(sa.Column("data_from",
                                      tui_trader.db.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("data_to",
                                      tui_trader.db.types.UTCDateTime(timezone=True),
                                      nullable=True))
        # existing runs had no curve: an empty one
        batch_op.add_column(sa.Column("equity_curve", _JSON, nullable=False,
                                      server_default=sa.text("'[]'")))
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.alter_column("equity_curve", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        for name in ("equity_curve", "data_to", "data_from", "data_source", "interval",
                     "symbol", "kind"):
            batch_op.drop_column(name)

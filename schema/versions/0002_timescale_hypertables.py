"""TimescaleDB hypertables for market data, when the extension is available

On PostgreSQL with TimescaleDB installable, ticks, candles and order_book_snapshots become
hypertables with a retention policy; elsewhere (SQLite, plain PostgreSQL) this is a no-op and
the plain tables keep the same indexes. Detected, not configured.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> (time column, retention)
HYPERTABLES = {
    "ticks": ("ts", "30 days"),
    "order_book_snapshots": ("ts", "7 days"),
    "candles": ("ts", "3650 days"),
}


def _timescale_available(bind) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    row = bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None


def upgrade() -> None:
    bind = op.get_bind()
    if not _timescale_available(bind):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    for table, (column, retention) in HYPERTABLES.items():
        op.execute(sa.text(
            f"SELECT create_hypertable('{table}', '{column}', migrate_data => true, "
            f"if_not_exists => true)"))
        op.execute(sa.text(
            f"SELECT add_retention_policy('{table}', INTERVAL '{retention}', "
            f"if_not_exists => true)"))


def downgrade() -> None:
    # Hypertables stay hypertables; dropping the tables in 0001's downgrade removes them.
    pass

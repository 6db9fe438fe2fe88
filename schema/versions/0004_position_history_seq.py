"""position_history.seq: a tie-breaker so one position's history lists in insertion order

Fills applied in one burst are often recorded with the same created_at; ordering those by
nothing (or by the random UUID) could list CLOSE before OPEN. New rows get seq stamped at
insert (see tui_trader.db.models.base.next_seq); existing rows are numbered here: on SQLite
by rowid (their real insertion order), on PostgreSQL by created_at, then the position
lifecycle (OPEN, then INCREASE/DECREASE, then CLOSE), then the physical row position (ctid:
the insertion order of this append-only table unless vacuumed space was reused).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PG_BACKFILL = """
UPDATE position_history AS h SET seq = r.n
FROM (SELECT id, ROW_NUMBER() OVER (
          ORDER BY created_at,
                   CASE action WHEN 'OPEN' THEN 0 WHEN 'CLOSE' THEN 2 ELSE 1 END,
                   ctid) AS n
      FROM position_history) AS r
WHERE h.id = r.id
"""


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("position_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    if bind.dialect.name == "sqlite":
        op.execute("UPDATE position_history SET seq = rowid")
    else:
        op.execute(_PG_BACKFILL)
    with op.batch_alter_table("position_history", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("position_history", schema=None) as batch_op:
        batch_op.drop_column("seq")

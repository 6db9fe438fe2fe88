"""order_history.seq: a tie-breaker so one order's history lists in insertion order

Several transitions of one order are often recorded with the same created_at; ordering those
by the random UUID could list COMPLETE before OPEN. New rows get seq stamped at insert (see
tui_trader.db.models.base.next_seq); existing rows are numbered here: on SQLite by rowid
(their real insertion order), on PostgreSQL by created_at and then the order lifecycle.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_PG_BACKFILL = """
UPDATE order_history AS h SET seq = r.n
FROM (SELECT id, ROW_NUMBER() OVER (
          ORDER BY created_at,
                   CASE status WHEN 'PENDING' THEN 0 WHEN 'OPEN' THEN 1
                               WHEN 'PARTIALLY_FILLED' THEN 2 WHEN 'UNKNOWN' THEN 3
                               ELSE 4 END,
                   filled_quantity, id) AS n
      FROM order_history) AS r
WHERE h.id = r.id
"""


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    if bind.dialect.name == "sqlite":
        op.execute("UPDATE order_history SET seq = rowid")
    else:
        op.execute(_PG_BACKFILL)
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("order_history", schema=None) as batch_op:
        batch_op.drop_column("seq")

"""strategy kinds: rsi_reversion, breakout, supertrend; 10/75/125-minute candles; a candle's
VWAP and trade count

The kind columns (strategies, strategy_catalog) accept the new kinds, `rsi` becomes
`rsi_reversion`; the timeframe columns (candles, indicator_values) accept 10, 75 and 125
minutes and grow to VARCHAR(13); candles gain `vwap` and `trades`.

On SQLite a CHECK constraint cannot be altered and a batch rebuild of `strategies` would
DROP it, which (foreign keys on) deletes every order and position of every strategy. So the
CREATE TABLE text is edited in place, as SQLite documents for loosening a constraint
(https://sqlite.org/lang_altertable.html, "otheralter"): writable_schema, then a schema
version bump; no row is touched and the tables' triggers stay. Each edit checks it found the
exact text it replaces, and an integrity check runs after.

Revision ID: 0006_strategy_kinds
Revises: 0005_security
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import tui_trader.db.types

revision = "0006_strategy_kinds"
down_revision = "0005_security"
branch_labels = None
depends_on = None

OLD_KINDS = ("scheduled", "ema_crossover", "rsi")
NEW_KINDS = ("scheduled", "ema_crossover", "rsi_reversion", "breakout", "supertrend")
OLD_FRAMES = ("minute", "3minute", "5minute", "15minute", "30minute", "60minute", "day")
NEW_FRAMES = ("minute", "3minute", "5minute", "10minute", "15minute", "30minute", "60minute",
              "75minute", "125minute", "day")

# (table, column, constraint, old values, new values, old length, new length)
CHECKS = (
    ("strategies", "kind", "ck_strategies_strategy_kind", OLD_KINDS, NEW_KINDS, 17, 17),
    ("strategy_catalog", "kind", "ck_strategy_catalog_catalog_kind", OLD_KINDS, NEW_KINDS,
     17, 17),
    ("candles", "timeframe", "ck_candles_timeframe", OLD_FRAMES, NEW_FRAMES, 12, 13),
    ("indicator_values", "timeframe", "ck_indicator_values_timeframe", OLD_FRAMES,
     NEW_FRAMES, 12, 13),
)


def _in_list(values) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _check(column, values) -> str:
    return f"{column} IN ({_in_list(values)})"


def _sqlite_rewrite(bind, edits) -> None:
    """Replace exact pieces of tables' CREATE TABLE text: [(table, [(old, new), ...])]."""
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for table, pieces in edits:
            sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' "
                                       "AND name=?", (table,)).scalar()
            for old, new in pieces:
                if sql.count(old) != 1:
                    raise RuntimeError(f"{table}: expected exactly one {old!r} in its schema")
                sql = sql.replace(old, new)
            bind.exec_driver_sql("UPDATE sqlite_master SET sql=? WHERE type='table' AND name=?",
                                 (sql, table))
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    result = bind.exec_driver_sql("PRAGMA integrity_check").scalar()
    if result != "ok":
        raise RuntimeError(f"integrity check after the schema edit: {result}")


def _pg_change(forward: bool, rename) -> None:
    """Swap the CHECKs (and lengths) to the new values, or back; `rename` runs while no
    CHECK is in place."""
    for table, _column, name, *_ in CHECKS:
        op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
    rename()
    for table, column, name, old, new, old_len, new_len in CHECKS:
        values, length = (new, new_len) if forward else (old, old_len)
        if old_len != new_len:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({length})")
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK "
                   f"({_check(column, values)})")


def _sqlite_change(forward: bool, rename) -> None:
    """The same on SQLite: first every CHECK accepts the old and the new values, the rows
    are renamed, then the CHECKs narrow to the target values (an integrity check after
    each edit proves every row meets them)."""
    bind = op.get_bind()
    wide, narrow = [], []
    for table, column, _name, old, new, old_len, new_len in CHECKS:
        before, after = (old, new) if forward else (new, old)
        union = after + tuple(v for v in before if v not in after)
        pieces = [(_check(column, before), _check(column, union))]
        if old_len != new_len:
            lengths = (old_len, new_len) if forward else (new_len, old_len)
            pieces.append((f"{column} VARCHAR({lengths[0]}) NOT NULL",
                           f"{column} VARCHAR({lengths[1]}) NOT NULL"))
        wide.append((table, pieces))
        narrow.append((table, [(_check(column, union), _check(column, after))]))
    _sqlite_rewrite(bind, wide)
    rename()
    _sqlite_rewrite(bind, narrow)


def _rename_kind(old: str, new: str) -> None:
    for table in ("strategies", "strategy_catalog"):
        op.execute(sa.text(f"UPDATE {table} SET kind = :new WHERE kind = :old")
                   .bindparams(new=new, old=old))


def _change(forward: bool) -> None:
    old, new = ("rsi", "rsi_reversion") if forward else ("rsi_reversion", "rsi")
    change = _pg_change if op.get_bind().dialect.name == "postgresql" else _sqlite_change
    change(forward, lambda: _rename_kind(old, new))


def upgrade() -> None:
    _change(True)
    op.add_column("candles", sa.Column("vwap", tui_trader.db.types.Money(precision=20, scale=6),
                                       nullable=True))
    op.add_column("candles", sa.Column("trades", sa.Integer(), nullable=True))


def downgrade() -> None:
    bind = op.get_bind()
    used = bind.execute(sa.text(
        "SELECT COUNT(*) FROM strategies WHERE kind IN ('breakout', 'supertrend')")).scalar()
    if used:
        raise RuntimeError(f"{used} strategies use the breakout or supertrend kind: delete "
                           f"them before downgrading")
    op.execute("DELETE FROM strategy_catalog WHERE kind IN ('breakout', 'supertrend')")
    for table in ("candles", "indicator_values"):
        op.execute(f"DELETE FROM {table} WHERE timeframe IN ('10minute', '75minute', "
                   f"'125minute')")
    _change(False)
    with op.batch_alter_table("candles") as batch:  # last: it may rebuild the table
        batch.drop_column("trades")
        batch.drop_column("vwap")

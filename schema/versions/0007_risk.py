"""risk: every rule of a user's risk limits, their risk state, denials and transitions

risk_rules gains the rules it lacked: trading capital, daily loss as % of capital, max open
positions, max orders per day and a per-strategy daily loss cap. max_position_size (an
integer, unclear whether shares or rupees) becomes max_position_value (₹), and
max_risk_per_trade becomes max_risk_per_trade_pct (% of capital, as the requirements say);
existing values are carried over (a per-trade risk above 100 cannot be a percentage and is
dropped).

risk_events records denials and state transitions alike: `kind`, the states moved between,
the entry or move in `details`; `rule` may be empty (a new day, an unlock) and takes the new
rule kinds. risk_states holds each user's risk state, with row-level security on PostgreSQL
like every per-user table (0005_security).

Revision ID: 0007_risk
Revises: 0006_strategy_kinds
Create Date: 2026-11-25
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tui_trader.db.types

revision = "0007_risk"
down_revision = "0006_strategy_kinds"
branch_labels = None
depends_on = None

_ACTING = ("current_setting('app.user_id', true) = '*' OR "
           "user_id = NULLIF(NULLIF(current_setting('app.user_id', true), ''), '*')::uuid")

AMOUNTS = ("trading_capital", "daily_loss_limit", "max_position_value",
           "strategy_daily_loss_limit")
PERCENTS = ("daily_loss_pct", "max_drawdown_pct", "max_risk_per_trade_pct")
COUNTS = ("max_open_positions", "max_orders_per_day")
NEW_RULES = ("DAILY_LOSS_LIMIT", "MAX_POSITION_VALUE", "MAX_DRAWDOWN_PCT",
             "MAX_RISK_PER_TRADE", "MAX_OPEN_POSITIONS", "MAX_ORDERS_PER_DAY",
             "STRATEGY_DAILY_LOSS", "RISK_STATE", "TRADING_CAPITAL", "INVALID_ENTRY")
OLD_RULES = ("DAILY_LOSS_LIMIT", "MAX_POSITION_SIZE", "MAX_DRAWDOWN_PCT", "MAX_RISK_PER_TRADE")
STATES = ("ACTIVE", "WARNING", "REDUCING", "HALTED")


def _money() -> sa.types.TypeEngine:
    return tui_trader.db.types.Money(precision=20, scale=6)


def _enum(values, name: str, length: int | None = None) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True,
                   length=length or max(len(v) for v in values) + 4)


def _rule_checks(batch_op, columns, template: str, suffix: str) -> None:
    for c in columns:
        batch_op.create_check_constraint(op.f(f"ck_risk_rules_{c}_{suffix}"),
                                         template.format(c=c))


_AMOUNT = "{c} IS NULL OR CAST({c} AS NUMERIC) > 0"
_PERCENT = "{c} IS NULL OR (CAST({c} AS NUMERIC) > 0 AND CAST({c} AS NUMERIC) <= 100)"
_COUNT = "{c} IS NULL OR {c} > 0"


def _text(bind, column: str) -> str:
    """A value in the Money column type's storage form (text on SQLite)."""
    return f"CAST({column} AS TEXT)" if bind.dialect.name == "sqlite" else column


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        for c in ("trading_capital", "daily_loss_pct", "max_position_value",
                  "max_risk_per_trade_pct", "strategy_daily_loss_limit"):
            batch_op.add_column(sa.Column(c, _money(), nullable=True))
        for c in COUNTS:
            batch_op.add_column(sa.Column(c, sa.Integer(), nullable=True))
    op.execute(f"UPDATE risk_rules SET max_position_value = {_text(bind, 'max_position_size')} "
               f"WHERE max_position_size > 0")
    op.execute("UPDATE risk_rules SET max_risk_per_trade_pct = max_risk_per_trade WHERE "
               "CAST(max_risk_per_trade AS NUMERIC) > 0 AND "
               "CAST(max_risk_per_trade AS NUMERIC) <= 100")
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_risk_rules_max_position_size_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_risk_rules_max_risk_per_trade_positive"), type_="check")
        batch_op.drop_column("max_position_size")
        batch_op.drop_column("max_risk_per_trade")
        _rule_checks(batch_op, ("trading_capital", "max_position_value",
                                "strategy_daily_loss_limit"), _AMOUNT, "positive")
        _rule_checks(batch_op, ("daily_loss_pct", "max_risk_per_trade_pct"), _PERCENT,
                     "range")
        _rule_checks(batch_op, COUNTS, _COUNT, "positive")

    # The rule's CHECK goes first and comes back with the new names after the rename:
    # SQLite copies the rows into the rebuilt table, where either CHECK would refuse some.
    with op.batch_alter_table("risk_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_risk_events_rule"), type_="check")
        batch_op.add_column(sa.Column("kind", _enum(("DENIAL", "TRANSITION"), "kind"),
                                      nullable=True))
        batch_op.add_column(sa.Column("state_from", _enum(STATES, "state_from"),
                                      nullable=True))
        batch_op.add_column(sa.Column("state_to", _enum(STATES, "state_to"), nullable=True))
        batch_op.add_column(sa.Column("details", tui_trader.db.types.JSONType, nullable=True))
    op.execute("UPDATE risk_events SET kind = 'DENIAL', details = '{}'")
    op.execute("UPDATE risk_events SET rule = 'MAX_POSITION_VALUE' "
               "WHERE rule = 'MAX_POSITION_SIZE'")
    with op.batch_alter_table("risk_events", schema=None) as batch_op:
        batch_op.alter_column("rule", existing_type=sa.String(22),
                              type_=_enum(NEW_RULES, "rule"), nullable=True)
        batch_op.alter_column("kind", existing_type=_enum(("DENIAL", "TRANSITION"), "kind"),
                              nullable=False)
        batch_op.alter_column("details", existing_type=tui_trader.db.types.JSONType,
                              nullable=False)
        batch_op.create_index("ix_risk_events_user_created", ["user_id", "created_at"],
                              unique=False)

    op.create_table(
        "risk_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("state", _enum(STATES, "state"), nullable=False),
        sa.Column("trading_day", sa.Date(), nullable=False),
        sa.Column("since", tui_trader.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rule", _enum(NEW_RULES, "rule"), nullable=True),
        sa.Column("observed", _money(), nullable=True),
        sa.Column("limit_value", _money(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("updated_at", tui_trader.db.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"],
                                name=op.f("fk_risk_states_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_states")),
        sa.UniqueConstraint("user_id", name=op.f("uq_risk_states_user_id")),
    )
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE risk_states ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE risk_states FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY acting_user ON risk_states USING ({_ACTING}) "
                   f"WITH CHECK ({_ACTING})")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP POLICY acting_user ON risk_states")
    op.drop_table("risk_states")

    with op.batch_alter_table("risk_events", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_events_user_created")
        batch_op.drop_constraint(op.f("ck_risk_events_rule"), type_="check")
        for c in ("state_to", "state_from", "kind"):
            batch_op.drop_constraint(op.f(f"ck_risk_events_{c}"), type_="check")
    # Transitions and the new kinds of denial have no place in the old table.
    op.execute("DELETE FROM risk_events WHERE rule IS NULL OR rule NOT IN "
               "('DAILY_LOSS_LIMIT', 'MAX_POSITION_VALUE', 'MAX_DRAWDOWN_PCT', "
               "'MAX_RISK_PER_TRADE')")
    op.execute("UPDATE risk_events SET rule = 'MAX_POSITION_SIZE' "
               "WHERE rule = 'MAX_POSITION_VALUE'")
    with op.batch_alter_table("risk_events", schema=None) as batch_op:
        batch_op.alter_column("rule", existing_type=sa.String(23),
                              type_=_enum(OLD_RULES, "rule", 22), nullable=False)
        for c in ("details", "state_to", "state_from", "kind"):
            batch_op.drop_column(c)

    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("max_position_size", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_risk_per_trade", _money(), nullable=True))
    op.execute("UPDATE risk_rules SET max_risk_per_trade = max_risk_per_trade_pct")
    op.execute("UPDATE risk_rules SET max_position_size = "
               "CAST(CAST(max_position_value AS NUMERIC) AS INTEGER) "
               "WHERE CAST(max_position_value AS NUMERIC) >= 1")
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        for c, suffix in (("trading_capital", "positive"), ("max_position_value", "positive"),
                          ("strategy_daily_loss_limit", "positive"),
                          ("daily_loss_pct", "range"), ("max_risk_per_trade_pct", "range"),
                          ("max_open_positions", "positive"),
                          ("max_orders_per_day", "positive")):
            batch_op.drop_constraint(op.f(f"ck_risk_rules_{c}_{suffix}"), type_="check")
        for c in ("trading_capital", "daily_loss_pct", "max_position_value",
                  "max_risk_per_trade_pct", "strategy_daily_loss_limit", *COUNTS):
            batch_op.drop_column(c)
        batch_op.create_check_constraint(op.f("ck_risk_rules_max_position_size_positive"),
                                         "max_position_size IS NULL OR max_position_size > 0")
        batch_op.create_check_constraint(op.f("ck_risk_rules_max_risk_per_trade_positive"),
                                         "max_risk_per_trade IS NULL OR "
                                         "CAST(max_risk_per_trade AS NUMERIC) > 0")

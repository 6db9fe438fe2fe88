"""security: failed logins per email address, row-level security, a strategy's account

login_attempts replaces users.failed_logins / users.locked_until (left in place, unused:
dropping them rebuilds `users` on SQLite, which cascades deletes into its child tables):
attempts are counted per address whether or not an account has it (so the answers never
reveal which addresses have accounts), each in one atomic conditional upsert before the
password is checked.

On PostgreSQL every per-user table gets row-level security (forced, so it binds the tables'
owner too; superusers always bypass it): a transaction sees and writes the rows of the user
named by the setting `app.user_id`, or every row when it is '*' -- what the application's
connections start with (tui_trader.db.row_security) and what services narrow to the signed-in
user per transaction. A connection that never set it sees nothing.

On both databases a trigger refuses a strategy whose broker account belongs to another user
(a composite foreign key could not keep ON DELETE SET NULL for the account alone). Existing
strategies that break the rule are detached from the account and stopped first. SQLite drops
a table's triggers when a batch migration rebuilds it: a later migration that rebuilds
strategies or broker_accounts must create them again.

Revision ID: 0005_security
Revises: 0004
Create Date: 2026-11-24
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tui_trader.db.types

revision = "0005_security"
down_revision = "0004"
branch_labels = None
depends_on = None


# Tables with a user_id column: each row belongs to one user.
PER_USER_TABLES = (
    "user_sessions", "broker_accounts", "token_refresh_log", "strategies", "user_strategies",
    "strategy_performance", "backtest_runs", "orders", "order_history", "positions",
    "position_history", "risk_rules", "risk_events", "notifications", "trading_sessions",
)
_ACTING = ("current_setting('app.user_id', true) = '*' OR "
           "user_id = NULLIF(NULLIF(current_setting('app.user_id', true), ''), '*')::uuid")

_FOREIGN_ACCOUNT = """
SELECT s.id FROM strategies s JOIN broker_accounts b ON b.id = s.broker_account_id
WHERE b.user_id <> s.user_id
"""

_PG_SAME_USER = """
CREATE FUNCTION strategy_account_same_user() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'strategies' THEN
        IF NEW.broker_account_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM broker_accounts
                WHERE id = NEW.broker_account_id AND user_id = NEW.user_id) THEN
            RAISE EXCEPTION 'strategy %: broker account % is not its user''s',
                NEW.id, NEW.broker_account_id USING ERRCODE = 'check_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM strategies
                  WHERE broker_account_id = NEW.id AND user_id <> NEW.user_id) THEN
        RAISE EXCEPTION 'broker account %: a strategy of another user uses it', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$
"""

_SQLITE_SAME_USER = (
    """CREATE TRIGGER strategies_account_same_user_insert BEFORE INSERT ON strategies
    WHEN NEW.broker_account_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM broker_accounts WHERE id = NEW.broker_account_id
        AND user_id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'strategy: broker account is not its user''s'); END""",
    """CREATE TRIGGER strategies_account_same_user_update
    BEFORE UPDATE OF broker_account_id, user_id ON strategies
    WHEN NEW.broker_account_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM broker_accounts WHERE id = NEW.broker_account_id
        AND user_id = NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'strategy: broker account is not its user''s'); END""",
    """CREATE TRIGGER broker_accounts_same_user_update BEFORE UPDATE OF user_id ON broker_accounts
    WHEN EXISTS (SELECT 1 FROM strategies WHERE broker_account_id = NEW.id
                 AND user_id <> NEW.user_id)
    BEGIN SELECT RAISE(ABORT, 'broker account: a strategy of another user uses it'); END""",
)


def _same_user_constraint(bind) -> None:
    foreign = [row[0] for row in bind.execute(sa.text(_FOREIGN_ACCOUNT))]
    if foreign:
        strategies = sa.table("strategies", sa.column("id"), sa.column("broker_account_id"),
                              sa.column("status"), sa.column("status_reason"))
        op.execute(strategies.update().where(strategies.c.id.in_(foreign)).values(
            broker_account_id=None, status="stopped",
            status_reason="stopped: its broker account belonged to another user"))
    if bind.dialect.name == "postgresql":
        op.execute(_PG_SAME_USER)
        op.execute("CREATE TRIGGER strategies_account_same_user BEFORE INSERT OR UPDATE OF "
                   "broker_account_id, user_id ON strategies FOR EACH ROW EXECUTE FUNCTION "
                   "strategy_account_same_user()")
        op.execute("CREATE TRIGGER broker_accounts_same_user BEFORE UPDATE OF user_id ON "
                   "broker_accounts FOR EACH ROW EXECUTE FUNCTION "
                   "strategy_account_same_user()")
    else:
        for statement in _SQLITE_SAME_USER:
            op.execute(statement)


def _row_level_security() -> None:
    for table in PER_USER_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY acting_user ON {table} USING ({_ACTING}) "
                   f"WITH CHECK ({_ACTING})")


def upgrade() -> None:
    bind = op.get_bind()
    _same_user_constraint(bind)
    if bind.dialect.name == "postgresql":
        _row_level_security()
    op.create_table(
        "login_attempts",
        sa.Column("email_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", tui_trader.db.types.UTCDateTime(timezone=True),
                  nullable=True),
        sa.Column("updated_at", tui_trader.db.types.UTCDateTime(timezone=True),
                  nullable=False),
        sa.CheckConstraint("failures >= 0",
                           name=op.f("ck_login_attempts_failures_nonnegative")),
        sa.PrimaryKeyConstraint("email_key", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table in PER_USER_TABLES:
            op.execute(f"DROP POLICY acting_user ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute("DROP TRIGGER broker_accounts_same_user ON broker_accounts")
        op.execute("DROP TRIGGER strategies_account_same_user ON strategies")
        op.execute("DROP FUNCTION strategy_account_same_user()")
    else:
        for name in ("strategies_account_same_user_insert", "strategies_account_same_user_update",
                     "broker_accounts_same_user_update"):
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_updated_at")
    op.drop_table("login_attempts")

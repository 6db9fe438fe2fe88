"""security: failed logins counted per email address

login_attempts replaces users.failed_logins / users.locked_until: attempts are counted per
address whether or not an account has it (so the answers never reveal which addresses have
accounts), each in one atomic conditional upsert before the password is checked.

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


def upgrade() -> None:
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
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_failed_logins_nonnegative"), type_="check")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("locked_until",
                                      tui_trader.db.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_check_constraint(op.f("ck_users_failed_logins_nonnegative"),
                                         "failed_logins >= 0")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("failed_logins", server_default=None)
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_updated_at")
    op.drop_table("login_attempts")

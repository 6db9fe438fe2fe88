"""Row-level security on PostgreSQL: whose rows a transaction may see and write.

Every per-user table has a policy (migration 0005_security) keyed on the setting
`app.user_id`: a user's id limits the transaction to that user's rows, '*' allows every row,
and unset allows none.

- The application's connections start with '*' (`CONNECT_OPTIONS`, sent when the connection
  opens: no statement, no round trip). The engine serves every user, and admin commands
  (key rotation, migrations, `user unlock`) act for nobody in particular: they keep it.
- A service acting for a signed-in user narrows its transaction with `act_for` (every
  ScopedRepository does, on construction): `SET LOCAL`, so it ends with the transaction and
  the pooled connection goes back to '*'. Within it, a query that forgets `user_id` still
  sees only that user's rows, and a row written for anyone else is refused.

SQLite has no row-level security: there `act_for` does nothing and scoping is the
repositories' WHERE clauses alone. Superusers always bypass row-level security: run the
application as an ordinary role for the policies to bind.
"""

from __future__ import annotations

import uuid

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

SETTING = "app.user_id"
ALL_USERS = "*"
CONNECT_OPTIONS = f"-c {SETTING}={ALL_USERS}"

_ACTING = "tui_trader.acting_user"  # session.info: the user this session acts for
_APPLIED = "tui_trader.acting_applied"  # session.info: (transaction, user) already set
_SET = f"SELECT set_config('{SETTING}', %(user)s, true)"


def act_for(session: Session, user_id: uuid.UUID) -> None:
    """Limit this session's transactions, the current one and every later one, to the rows
    of `user_id` (PostgreSQL; nothing on SQLite)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    session.info[_ACTING] = user_id
    conn = session.connection()  # begins the transaction if needed (`_begun` sets it then)
    transaction = session.get_transaction()
    applied = session.info.get(_APPLIED)
    if applied is None or applied[0] is not transaction or applied[1] != user_id:
        _apply(session, conn, transaction, user_id)


def install(factory: sessionmaker) -> None:
    """Make every session from `factory` re-apply its acting user at each transaction."""
    event.listen(factory, "after_begin", _begun)


def _begun(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    user_id = session.info.get(_ACTING)
    if user_id is not None and connection.dialect.name == "postgresql":
        _apply(session, connection, session.get_transaction() or transaction, user_id)


def _apply(session: Session, conn: Connection, transaction, user_id: uuid.UUID) -> None:
    conn.exec_driver_sql(_SET, {"user": str(user_id)})
    # The transaction itself, not its id: a later one could reuse a freed id.
    session.info[_APPLIED] = (transaction, user_id)

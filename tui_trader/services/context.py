"""The application context: settings, database, live store, vault, calendar and clock,
built once at start-up and handed to every service."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from ..config import Settings, load_settings
from ..db import migrate
from ..db.engine import create_db_engine, session_factory
from ..db.models import BrokerAccount, NotificationChannel
from ..db.repositories import InstrumentRepository
from ..db.seed import seed_catalog
from ..domain.calendar import HolidayFile, NseCalendar
from ..domain.clock import Clock, SystemClock
from ..domain.errors import ConfigError
from ..live.store import connect_store
from ..security.files import private_dir
from ..security.keystore import open_keystore
from ..security.vault import CredentialVault

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    settings: Settings
    db: Engine
    sessions: sessionmaker[Session]
    store: redis.Redis
    vault: CredentialVault
    calendar: NseCalendar
    clock: Clock = field(default_factory=SystemClock)
    notices: list[str] = field(default_factory=list)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any error."""
        with self.sessions() as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    def close(self) -> None:
        self.db.dispose()
        try:
            self.store.close()
        except Exception:  # closing a dead connection is not worth a crash at exit
            log.debug("closing the live store failed", exc_info=True)


def bootstrap(settings: Settings | None = None, *, clock: Clock | None = None,
              store: redis.Redis | None = None) -> AppContext:
    """Connect everything, migrate the schema, seed defaults. Raises ConfigError on trouble."""
    settings = settings or load_settings()
    try:
        private_dir(settings.data_dir)  # 0700: it holds the database, key file and logs
    except OSError as exc:
        raise ConfigError("TUI_TRADER_DATA_DIR", f"cannot create {settings.data_dir}: "
                                                 f"{exc.strerror or type(exc).__name__}") from None
    engine = create_db_engine(settings.effective_database_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        InstrumentRepository(s).seed_defaults()
        seed_catalog(s)
    with sessions.begin() as s:  # the master keys stored credentials need
        needed = set(s.exec(select(BrokerAccount.key_id).where(
            BrokerAccount.key_id.is_not(None)).distinct()).all())  # type: ignore[union-attr]
        needed |= set(s.exec(select(NotificationChannel.key_id).distinct()).all())
    keystore, warning = open_keystore(settings.data_dir, needed=needed)
    notices = [warning] if warning else []
    calendar = NseCalendar(HolidayFile.load(settings.holidays_file))
    live = store if store is not None else connect_store(settings.redis_url)
    return AppContext(settings=settings, db=engine, sessions=sessions, store=live,
                      vault=CredentialVault(keystore), calendar=calendar,
                      clock=clock or settings.make_clock(), notices=notices)

"""What the app keeps on disk is its user's alone: the data dir 0700; the database, its WAL
and shared-memory files, the master-key file and the log 0600 -- whatever the umask, and an
earlier looser file is tightened."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tui_trader.config import load_settings
from tui_trader.db.engine import create_db_engine
from tui_trader.domain.errors import ConfigError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Umask 0: every file would be world-readable unless the code asks for less."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRADER_KEYSTORE", "file")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("TUI_TRADER_DATABASE_URL", raising=False)
    monkeypatch.delenv("TUI_TRADER_REDIS_URL", raising=False)
    return load_settings(data_dir=tmp_path / "home" / "data")


def test_data_dir_database_wal_key_file_and_log_are_private(settings, open_umask):
    from tui_trader.live.store import reset_embedded_store
    from tui_trader.services.auth import AuthService
    from tui_trader.services.brokers import BrokerAccountService
    from tui_trader.services.context import bootstrap
    from tui_trader.ui.logsetup import logs_to_file

    reset_embedded_store()
    ctx = bootstrap(settings)
    try:
        user = AuthService(ctx).sign_up("a@example.com", "password-a")
        BrokerAccountService(ctx, user.id).add_kite("apikey1234", "secret-1234")
        data = settings.data_dir
        db = data / "tui-trader.db"
        assert mode(data) == 0o700
        for path in (db, data / "tui-trader.db-wal", data / "tui-trader.db-shm",
                     data / "master.key"):
            assert path.exists(), path
            assert mode(path) == 0o600, f"{path.name} is {mode(path):04o}"
        with logs_to_file(data) as log_path:
            logging.getLogger("tui_trader.test").warning("a line for the log")
        assert log_path is not None and mode(log_path) == 0o600
    finally:
        ctx.close()


def test_an_earlier_looser_database_is_tightened(tmp_path, open_umask):
    db = tmp_path / "old.db"
    for path in (db, tmp_path / "old.db-wal"):
        path.touch()
        path.chmod(0o644)
    engine = create_db_engine(f"sqlite:///{db}")
    engine.dispose()
    assert mode(db) == 0o600 and mode(tmp_path / "old.db-wal") == 0o600


def test_a_sqlite_path_that_cannot_be_created_is_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(ConfigError) as err:
        create_db_engine(f"sqlite:///{blocker / 'data' / 'x.db'}")
    text = str(err.value)
    assert text.startswith("TUI_TRADER_DATABASE_URL: cannot create the SQLite file ")
    assert "\n" not in text and "Traceback" not in text

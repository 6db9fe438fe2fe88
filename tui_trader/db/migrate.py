"""Apply the Alembic migrations in `schema/` to a database; used by `db upgrade` and start-up.

The repository's top-level `schema/` is the source of truth; a regular (non-editable) build
copies it into the wheel at `tui_trader/_schema/` (see setup.py), used when the package runs
from an installed wheel with no `schema/` beside it."""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

REPO_SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schema"
PACKAGED_SCHEMA_DIR = Path(__file__).resolve().parents[1] / "_schema"


def find_schema_dir() -> Path:
    """The checkout's `schema/` when there is one (editable install, tests), else the copy
    shipped inside the installed package. With neither, the checkout's path, so that Alembic
    names it when it reports the tree missing."""
    for candidate in (REPO_SCHEMA_DIR, PACKAGED_SCHEMA_DIR):
        if (candidate / "env.py").is_file() and (candidate / "versions").is_dir():
            return candidate
    return REPO_SCHEMA_DIR


SCHEMA_DIR = find_schema_dir()

log = logging.getLogger(__name__)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCHEMA_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(SCHEMA_DIR / "versions"))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision`; returns (before, after). Cheap when already there."""
    before = current_revision(engine)
    if before == head_revision(engine) and revision == "head":
        return before, before
    command.upgrade(alembic_config(engine), revision)
    after = current_revision(engine)
    log.info("database migrated from %s to %s", before, after)
    return before, after


def timescale_available(engine: Engine) -> bool:
    """Is the TimescaleDB extension installable here (detected, not configured)?"""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")).first()
    return row is not None

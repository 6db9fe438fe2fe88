"""Alembic environment: runs migrations on the engine handed over by tui_trader.db.migrate."""

from __future__ import annotations

from alembic import context

from tui_trader.db.engine import create_db_engine
from tui_trader.db.models import metadata

config = context.config


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:  # invoked via the alembic CLI: the URL comes from the ini/-x option
        url = context.get_x_argument(as_dictionary=True).get("url") or \
            config.get_main_option("sqlalchemy.url")
        engine = create_db_engine(url)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        context.run_migrations()


run()

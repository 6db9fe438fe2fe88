"""The database catalog is seeded from the code's registry: every kind, its description and
parameter schema; a stale row is brought up to date; a second run changes nothing."""

from __future__ import annotations

from sqlmodel import Session, select

from tui_trader.db.engine import create_db_engine
from tui_trader.db.models import StrategyCatalog
from tui_trader.db.seed import seed_catalog
from tui_trader.domain.catalog import BY_KIND
from tui_trader.domain.enums import StrategyKind


def test_seed_writes_the_registry_and_keeps_it_in_step(database_url):
    engine = create_db_engine(database_url)
    try:
        with Session(engine) as s:
            assert seed_catalog(s) == len(BY_KIND)
            s.commit()
        with Session(engine) as s:
            rows = {r.kind: r for r in s.exec(select(StrategyCatalog)).all()}
            assert set(rows) == set(StrategyKind)
            for kind, row in rows.items():
                entry = BY_KIND[kind]
                assert (row.name, row.description) == (entry.name, entry.description)
                assert row.parameters_schema == entry.parameters_schema()
                assert row.is_active is entry.runs
            rows[StrategyKind.BREAKOUT].description = "old words"
            s.commit()
        with Session(engine) as s:
            assert seed_catalog(s) == 1
            s.commit()
            assert seed_catalog(s) == 0
            row = s.exec(select(StrategyCatalog).where(
                StrategyCatalog.kind == StrategyKind.BREAKOUT)).one()
            assert row.description == BY_KIND[StrategyKind.BREAKOUT].description
    finally:
        engine.dispose()

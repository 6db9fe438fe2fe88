"""The backtest service on a real database: the instruments master fills in the tick size,
lot size and instrument type the command line leaves unsaid (never what it says)."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from tui_trader.db.models import Instrument
from tui_trader.db.repositories.instruments import InstrumentRepository
from tui_trader.domain.enums import Exchange, InstrumentType
from tui_trader.services.backtests import with_instrument

from .conftest import spec


def args(**given):
    return SimpleNamespace(**{"tick": None, "lot_size": None, "instrument_type": None,
                              **given})


def test_the_instruments_master_fills_what_the_command_line_leaves_unsaid(ctx):
    with ctx.session() as s:
        InstrumentRepository(s).upsert_many([Instrument(
            instrument_token=1, symbol="NIFTYFUT", exchange=Exchange.NFO,
            instrument_type=InstrumentType.FUT, tick_size=Decimal("0.10"), lot_size=75)])
    run = spec(exchange="NFO", quantity=2)
    filled = with_instrument(ctx, run, "NIFTYFUT", args())
    assert (filled.tick, filled.lot_size, filled.instrument_type, filled.units) == \
        (Decimal("0.10"), 75, InstrumentType.FUT, 150)
    kept = with_instrument(ctx, run, "NIFTYFUT", args(tick="0.05", lot_size=50,
                                                      instrument_type="FUT"))
    assert (kept.tick, kept.lot_size) == (run.tick, run.lot_size)
    assert with_instrument(ctx, run, "UNKNOWN", args()) == run

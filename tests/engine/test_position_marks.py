"""A mark flush racing a closing fill never leaves "OPEN, 0 held" as the last word on a
position (seen as a closed position shown open until a refresh)."""

from __future__ import annotations

from decimal import Decimal

from tui_trader.domain.enums import Side


class CloseDuringFlush:
    """The keeper's database, which runs `close` (once, when armed) just as the flush is
    about to write its marks: after the flush collected its positions, before it
    publishes them."""

    def __init__(self, real, close) -> None:
        self.real, self.close, self.armed = real, close, False

    def begin(self):
        if self.armed:
            self.armed = False
            self.close()
        return self.real.begin()

    def connect(self):
        return self.real.connect()


def test_a_fill_closing_a_position_mid_flush_has_the_last_word(ctx, trader, strategy,
                                                                harness):
    harness.start()
    harness.buy_at_930(trader, strategy)
    keeper = harness.engine.positions
    pos = keeper.open_for_strategy(strategy.id)
    published = []
    keeper._publish = published.append

    def close() -> None:
        keeper.apply_fill(user_id=trader.id, strategy_id=strategy.id, symbol="INFY",
                          exchange="NSE", side=Side.SELL, quantity=10,
                          price=Decimal("1510.00"), order_id=None, now=ctx.clock.now())

    keeper.engine = CloseDuringFlush(keeper.engine, close)
    keeper.mark_prices(lambda symbol: Decimal("1511.00"))
    keeper.engine.armed = True
    keeper.flush(ctx.clock.now())
    mine = [e for e in published if e.position_id == str(pos.id)]
    assert mine[-1].status == "CLOSED" and mine[-1].quantity == 0, mine

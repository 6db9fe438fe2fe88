"""Strategy creation rules: one clear error naming the field, and nothing written."""

from __future__ import annotations

import pytest

from tui_trader.db.models import Strategy
from tui_trader.domain.enums import StrategyStatus
from tui_trader.domain.errors import StateError, ValidationError
from tui_trader.services.auth import AuthService
from tui_trader.services.strategies import StrategyService

GOOD = {"name": "Morning INFY", "symbol": "infy", "buy_time": "09:30", "sell_time": "15:00:30",
        "stop_loss": "1450.50", "quantity": "10", "mode": "paper"}


@pytest.fixture
def service(ctx):
    user = AuthService(ctx).sign_up("a@example.com", "password-a")
    return StrategyService(ctx, user.id)


def _count(ctx) -> int:
    with ctx.session() as s:
        return len(s.exec(__import__("sqlmodel").select(Strategy)).all())


def test_create_good_strategy(service, ctx):
    spec = service.create(GOOD)
    assert spec.symbol == "INFY" and str(spec.stop_loss) == "1450.50" and spec.quantity == 10
    assert spec.buy_time.isoformat() == "09:30:00" and spec.sell_time.isoformat() == "15:00:30"
    assert spec.status == StrategyStatus.CREATED
    assert [r.name for r in service.rows()] == ["Morning INFY"]


@pytest.mark.parametrize("override,field,fragment", [
    ({"buy_time": "15:00", "sell_time": "09:30"}, "sell_time", "later than Buy at"),
    ({"buy_time": "10:00", "sell_time": "10:00"}, "sell_time", "later than Buy at"),
    ({"stop_loss": ""}, "stop_loss", "required"),
    ({"stop_loss": "0"}, "stop_loss", "greater than 0"),
    ({"stop_loss": "abc"}, "stop_loss", "number"),
    ({"stop_loss": "NaN"}, "stop_loss", "finite"),
    ({"stop_loss": "10.001"}, "stop_loss", "2 decimal"),
    ({"quantity": "0"}, "quantity", "greater than 0"),
    ({"quantity": "1.5"}, "quantity", "whole number"),
    ({"symbol": "NOSUCHSTOCK"}, "symbol", "instruments"),
    ({"symbol": "IN FY"}, "symbol", "NSE trading symbol"),
    ({"buy_time": "25:61"}, "buy_time", "real time"),
    ({"name": ""}, "name", "required"),
    ({"name": "x" * 81}, "name", "at most 80"),
    ({"name": "evil\x1b[31m"}, "name", "control characters"),
    ({"mode": "YOLO"}, "mode", "PAPER or LIVE"),
    ({"buy_time": "09:00"}, "buy_time", "market hours, 09:15-15:30 IST"),
    ({"buy_time": "03:00", "sell_time": "23:59"}, "buy_time", "market hours"),
    ({"sell_time": "15:31"}, "sell_time", "market hours"),
    ({"mode": "LIVE"}, "broker_account_id", "Zerodha Kite account"),
    ({"quantity": "1_000"}, "quantity", "whole number"),
    ({"quantity": "\u0661\u0662"}, "quantity", "whole number"),  # Arabic-Indic digits
    ({"stop_loss": "1e3"}, "stop_loss", "number like"),
    ({"stop_loss": "\u0967\u096b\u0966\u0966"}, "stop_loss", "number like"),  # Devanagari
    ({"name": "two\u2028lines"}, "name", "control characters"),
])
def test_bad_input_names_field_and_writes_nothing(service, ctx, override, field, fragment):
    with pytest.raises(ValidationError) as err:
        service.create({**GOOD, **override})
    assert err.value.field == field
    assert fragment in str(err.value)
    assert _count(ctx) == 0
    assert field in service.check({**GOOD, **override})


def test_check_collects_every_error(service):
    errors = service.check({"name": "", "symbol": "", "buy_time": "x", "sell_time": "",
                            "stop_loss": "-1", "quantity": "0"})
    assert set(errors) == {"name", "symbol", "buy_time", "sell_time", "stop_loss", "quantity"}
    assert service.check(GOOD) == {}


def test_duplicate_update_delete(service, ctx):
    spec = service.create(GOOD)
    copy = service.duplicate(spec.id)
    assert copy.name == "Morning INFY (copy)" and copy.id != spec.id
    assert service.duplicate(spec.id).name == "Morning INFY (copy) 2"
    with pytest.raises(ValidationError, match="Name: 'Morning INFY' is already used"):
        service.update(copy.id, GOOD)  # the name belongs to the first one
    updated = service.update(copy.id, {**GOOD, "name": "Copy", "quantity": "5"})
    assert updated.quantity == 5
    service.delete(copy.id)
    assert len(service.list()) == 2


def test_running_strategy_cannot_be_changed_or_deleted(service, ctx):
    spec = service.create(GOOD)
    with ctx.session() as s:
        s.get(Strategy, spec.id).status = StrategyStatus.RUNNING
    with pytest.raises(ValidationError, match="^Quantity: cannot change while the strategy"):
        service.update(spec.id, {**GOOD, "quantity": "11"})
    assert service.get(spec.id).quantity == 10
    with pytest.raises(StateError):
        service.delete(spec.id)


def test_a_session_edge_is_a_valid_time(service):
    spec = service.create({**GOOD, "buy_time": "09:15", "sell_time": "15:30"})
    assert (spec.buy_time.isoformat(), spec.sell_time.isoformat()) == ("09:15:00", "15:30:00")


def test_live_on_the_paper_broker_is_refused(service, ctx):
    from tui_trader.services.brokers import BrokerAccountService

    paper = BrokerAccountService(ctx, service.user_id).add_paper()
    with pytest.raises(ValidationError) as err:
        service.create({**GOOD, "mode": "LIVE", "broker_account_id": str(paper.id)})
    assert err.value.field == "broker_account_id" and "not the paper broker" in str(err.value)
    assert _count(ctx) == 0


def test_what_a_position_depends_on_cannot_be_removed(service, ctx):
    """A strategy or a broker account an open position depends on stays until it is closed:
    its exit must reach the broker that holds it."""
    import uuid

    from tui_trader.db.models import Order, Position
    from tui_trader.domain.enums import IntentState, OrderReason, OrderStatus, PositionStatus, Side
    from tui_trader.services.brokers import BrokerAccountService

    accounts = BrokerAccountService(ctx, service.user_id)
    kite = accounts.add_kite("kiteapikey1", "kitesecret9")
    spec = service.create({**GOOD, "mode": "LIVE", "broker_account_id": str(kite.id)})
    from tui_trader.domain.clock import ist_date

    now = ctx.clock.now()
    with ctx.session() as s:
        s.add(Order(user_id=service.user_id, strategy_id=spec.id, broker_account_id=kite.id,
                    intent_key="k1", client_tag="tag1", intent_state=IntentState.DONE,
                    trading_day=ist_date(now), symbol="INFY", side=Side.BUY,
                    reason=OrderReason.BUY, quantity=10, filled_quantity=10,
                    status=OrderStatus.FILLED, created_at=now, updated_at=now))
        s.add(Position(id=uuid.uuid4(), user_id=service.user_id, strategy_id=spec.id,
                       symbol="INFY", quantity=10, average_price=1500,
                       status=PositionStatus.OPEN, opened_at=now, updated_at=now))
    with pytest.raises(StateError, match="holds 10 INFY"):
        service.delete(spec.id)
    with pytest.raises(StateError, match="open INFY position was opened through this account"):
        accounts.remove(kite.id)
    with ctx.session() as s:
        s.exec(__import__("sqlmodel").select(Position)).one().status = PositionStatus.CLOSED
    accounts.remove(kite.id)  # closed: nothing depends on it any more
    service.delete(spec.id)


def test_the_days_book_holds_open_positions_and_todays_closes_only(service, ctx):
    from datetime import timedelta
    from decimal import Decimal

    from tui_trader.db.models import Position
    from tui_trader.domain.enums import PositionStatus
    from tui_trader.services.trading import TradingViews

    now = ctx.clock.now()  # Monday 09:00 IST
    with ctx.session() as s:
        for symbol, status, closed in (("INFY", PositionStatus.OPEN, None),
                                       ("TCS", PositionStatus.CLOSED, now - timedelta(minutes=5)),
                                       ("SBIN", PositionStatus.CLOSED, now - timedelta(days=3))):
            s.add(Position(user_id=service.user_id, symbol=symbol,
                           quantity=10 if closed is None else 0, average_price=Decimal("100"),
                           realized_pnl=Decimal("0") if closed is None else Decimal("-50"),
                           status=status, opened_at=now - timedelta(days=3),
                           updated_at=now, closed_at=closed))
    views = TradingViews(ctx, service.user_id)
    today = views.todays_positions()
    assert sorted(p.symbol for p in today) == ["INFY", "TCS"]  # Friday's SBIN is history
    assert views.totals(today).realized == Decimal("-50")
    assert len(views.positions()) == 3  # everything is still there to look up


@pytest.mark.parametrize("override,message", [
    ({"buy_time": "15:00", "sell_time": "09:30"}, "Sell at: must be later than Buy at"),
    ({"stop_loss": "abc"}, "Stop-loss: must be a number like 1520.50"),
    ({"buy_time": "09:00"}, "Buy at: must be within NSE market hours, 09:15-15:30 IST"),
    ({"mode": "LIVE"}, "Broker: LIVE needs a Zerodha Kite account (add one under Brokers)"),
])
def test_messages_name_fields_as_the_form_labels_them(service, override, message):
    with pytest.raises(ValidationError) as err:
        service.create({**GOOD, **override})
    assert str(err.value) == message


def test_refusals_are_sentences_without_code_prefixes(service, ctx):
    from tui_trader.db.models import Strategy as Row

    spec = service.create(GOOD)
    with ctx.session() as s:
        s.get(Row, spec.id).status = StrategyStatus.RUNNING
    # A scheduled strategy has nothing it may change while it runs: a change to any field
    # is refused at that field, naming what it is now; the same values change nothing.
    with pytest.raises(ValidationError) as err:
        service.update(spec.id, {**GOOD, "buy_time": "09:45"})
    assert str(err.value) == ("Buy at: cannot change while the strategy runs (stop it "
                              "first); Buy at is 09:30")
    with pytest.raises(ValidationError, match="^Stop-loss: cannot change while"):
        service.update(spec.id, {**GOOD, "stop_loss": "1400"})
    assert service.update(spec.id, GOOD) == service.get(spec.id)
    assert service.get(spec.id).buy_time.strftime("%H:%M") == "09:30"
    with pytest.raises(StateError) as err:
        service.delete(spec.id)
    assert str(err.value) == "Stop the strategy (x) before deleting it"


def test_a_kind_the_engine_does_not_run_yet_is_refused_at_the_field(ctx):
    """The catalog lists kinds the engine does not run yet; saving one would have the
    engine run it as a scheduled strategy, so it is refused, naming the field."""
    from tui_trader.domain.errors import ValidationError
    from tui_trader.services.auth import AuthService

    user = AuthService(ctx).sign_up("kinds@example.com", "correct-horse-1")
    service = StrategyService(ctx, user.id)
    form = {"name": "INFY breakout", "symbol": "INFY", "buy_time": "09:30",
            "sell_time": "15:00", "stop_loss": "1400", "quantity": "1", "kind": "breakout"}
    with pytest.raises(ValidationError, match="Kind: breakout strategies are in the catalog"):
        service.create(form)
    assert service.list() == []
    assert service.create({**form, "kind": "scheduled"}).kind.value == "scheduled"


def test_rows_say_the_kind_the_open_position_the_last_signal_and_what_comes_next(
        service, ctx):
    """The table's words come from services: a running strategy holding 10 INFY bought at
    09:30 watches its stop; one not started says so; a running flat one says when it buys."""
    from datetime import timedelta
    from decimal import Decimal

    from tui_trader.db.models import Order, Position
    from tui_trader.domain.clock import ist_date
    from tui_trader.domain.enums import (
        IntentState,
        OrderReason,
        OrderStatus,
        PositionStatus,
        Side,
    )

    held = service.create(GOOD)
    flat = service.create({**GOOD, "name": "TCS", "symbol": "TCS", "stop_loss": "3000"})
    service.create({**GOOD, "name": "Idle"})
    now = ctx.clock.now()
    bought = now + timedelta(minutes=30)
    with ctx.session() as s:
        s.get(Strategy, held.id).status = StrategyStatus.RUNNING
        s.get(Strategy, flat.id).status = StrategyStatus.RUNNING
        s.add(Position(user_id=held.user_id, strategy_id=held.id, symbol="INFY", quantity=10,
                       average_price=Decimal("1520"), status=PositionStatus.OPEN,
                       opened_at=bought, updated_at=bought))
        s.add(Order(user_id=held.user_id, strategy_id=held.id, intent_key="k1",
                    client_tag="t1", intent_state=IntentState.DONE,
                    trading_day=ist_date(bought), symbol="INFY", side=Side.BUY,
                    reason=OrderReason.BUY, quantity=10, filled_quantity=10,
                    average_price=Decimal("1520"), status=OrderStatus.FILLED,
                    placed_at=bought, created_at=bought, updated_at=bought))
        before = bought - timedelta(days=3)  # an older round's exit: not the last signal
        s.add(Order(user_id=held.user_id, strategy_id=held.id, intent_key="k0",
                    client_tag="t0", intent_state=IntentState.DONE,
                    trading_day=ist_date(before), symbol="INFY", side=Side.SELL,
                    reason=OrderReason.STOPLOSS, quantity=10, filled_quantity=10,
                    average_price=Decimal("1490"), status=OrderStatus.FILLED,
                    placed_at=before, created_at=before, updated_at=before))
    rows = {r.name: r for r in service.rows()}
    infy, tcs, spare = rows["Morning INFY"], rows["TCS"], rows["Idle"]
    assert (infy.kind, infy.kind_name, infy.held) == ("scheduled", "Scheduled", 10)
    assert infy.last_signal == "BUY Mon 09:30 @ 1,520.00"
    assert infy.next_action == "watching stop 1,450.50"
    # 09:00 IST on Monday 23 Nov 2026, a trading day: its buy is at 09:30 today.
    assert (tcs.held, tcs.last_signal, tcs.next_action) == (0, "", "buys Mon 09:30")
    assert spare.next_action == "not started"


EMA = {"kind": "ema_crossover", "name": "INFY EMA", "symbol": "INFY", "quantity": "5",
       "fast": "9", "slow": "21", "timeframe": "15minute", "product": "MIS",
       "stop_mode": "percent", "stop_loss": "1.0", "target": "", "trailing": "",
       "square_off": "15:15", "max_trades_per_day": "3", "reentry": "new_signal",
       "mode": "PAPER"}


def test_a_signal_kind_is_checked_field_by_field_then_refused_at_the_kind(service):
    """One rule for the CLI and the UI: a bad parameter is named at its field; a form
    valid in every field is still not saved while the engine cannot run the kind."""
    assert service.check({**EMA, "fast": "30"}) == {"fast": "must be below Slow EMA (21)"}
    assert service.check({**EMA, "fast": "1", "square_off": "15:25"}) == {
        "fast": "must be between 2 and 100 candles",
        "square_off": "must be after 09:15 and before 15:20 IST, when the broker squares MIS "
                      "positions off itself"}
    assert service.check({**EMA, "square_off": "15:25"}) == {
        "square_off": "must be after 09:15 and before 15:20 IST, when the broker squares MIS "
                      "positions off itself"}
    assert service.check({**EMA, "symbol": "NOPE"}) == {
        "symbol": "is not in the instruments list"}
    with pytest.raises(ValidationError) as err:
        service.create({**EMA, "fast": "1"})
    assert str(err.value) == "Fast EMA: must be between 2 and 100 candles"
    assert service.check(EMA) == {}
    with pytest.raises(ValidationError) as err:
        service.create(EMA)
    assert str(err.value) == ("Kind: ema_crossover strategies are in the catalog but the "
                              "engine does not run them yet; choose scheduled")
    assert service.list() == []


def test_a_running_kind_changes_only_its_updatable_settings(service, ctx, monkeypatch):
    """A running EMA strategy may change its target and its trades a day (the catalog
    marks them updatable), not its EMAs: refused at the field, nothing changed."""
    from tui_trader.domain import catalog
    from tui_trader.domain.enums import StrategyKind

    # The engine runs only scheduled strategies today; this is the rule for when it runs
    # EMA crossovers, so the catalog entry is marked runnable for this test.
    entry = catalog.BY_KIND[StrategyKind.EMA_CROSSOVER]
    monkeypatch.setitem(catalog.BY_KIND, StrategyKind.EMA_CROSSOVER,
                        __import__("dataclasses").replace(entry, runs=True))
    spec = service.create(EMA)
    assert service.form_values(spec.id)["fast"] == "9"
    with ctx.session() as s:
        s.get(Strategy, spec.id).status = StrategyStatus.RUNNING
    with pytest.raises(ValidationError) as err:
        service.update(spec.id, {**EMA, "fast": "12", "target": "2"})
    assert str(err.value) == ("Fast EMA: cannot change while the strategy runs (stop it "
                              "first); Fast EMA is 9")
    assert service.form_values(spec.id)["target"] == ""
    service.update(spec.id, {**EMA, "target": "2", "max_trades_per_day": "1"})
    values = service.form_values(spec.id)
    assert (values["target"], values["max_trades_per_day"], values["fast"]) == ("2", "1", "9")

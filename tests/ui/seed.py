"""A fixed, realistic data set for snapshots and benchmarks: every row, price and time is
the same on every run (times hang off the frozen clock)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

STRATEGIES = (
    {"name": "INFY morning", "symbol": "INFY", "buy_time": "09:30", "sell_time": "15:15",
     "stop_loss": "1490", "quantity": "10", "mode": "PAPER"},
    {"name": "TCS intraday", "symbol": "TCS", "buy_time": "09:45", "sell_time": "15:10",
     "stop_loss": "3340", "quantity": "5", "mode": "PAPER"},
    {"name": "HDFC swing", "symbol": "HDFCBANK", "buy_time": "10:00:30", "sell_time": "15:20",
     "stop_loss": "1610.50", "quantity": "5", "mode": "LIVE"},
)

# symbol, strategy index, qty, avg, ltp, unrealized, realized, status
POSITIONS = (
    ("INFY", 0, 10, "1520.00", "1534.50", "145.00", "0", "OPEN"),
    ("HDFCBANK", 2, 5, "1650.00", "1641.20", "-44.00", "0", "OPEN"),
    ("TCS", 1, 0, "3410.25", "3367.75", "0", "-212.50", "CLOSED"),
)

# minutes after 09:00, symbol, side, reason, qty, filled, avg, status, strategy index, error
ORDERS = (
    (30, "INFY", "BUY", "BUY", 10, 10, "1520.00", "FILLED", 0, None),
    (45, "TCS", "BUY", "BUY", 5, 5, "3410.25", "FILLED", 1, None),
    (52, "TCS", "SELL", "STOPLOSS", 5, 5, "3367.75", "FILLED", 1, None),
    (60, "HDFCBANK", "BUY", "BUY", 5, 5, "1650.00", "FILLED", 2, None),
    (61, "SBIN", "BUY", "BUY", 20, 0, None, "REJECTED", None, "insufficient funds"),
)

# minutes after 09:00, kind, severity, title, body, read
NOTIFICATIONS = (
    (30, "FILL", "INFO", "Bought 10 INFY", "at 1,520.00 (INFY morning)", True),
    (52, "STOPLOSS", "WARNING", "Stop-loss hit: TCS", "sold 5 at 3,367.75; P&L -212.50", False),
    (61, "REJECTION", "ERROR", "Order rejected: SBIN", "insufficient funds", False),
    (62, "TOKEN_EXPIRY", "WARNING", "Kite session expiring",
     "Zerodha: the access token lapses at 06:00 IST; log in again", False),
)


def seed_showcase(ctx, user_id) -> dict:
    """Brokers, strategies, positions, orders with history, notifications for one user."""
    from sqlmodel import select

    from tui_trader.db.models import (
        Instrument,
        Notification,
        Order,
        OrderHistory,
        Position,
        Strategy,
    )
    from tui_trader.domain.clock import ist_date
    from tui_trader.domain.enums import (
        IntentState,
        NotificationKind,
        OrderReason,
        OrderStatus,
        PositionStatus,
        Severity,
        Side,
        StrategyStatus,
    )
    from tui_trader.services.brokers import BrokerAccountService
    from tui_trader.services.strategies import StrategyService

    now = ctx.clock.now()
    brokers = BrokerAccountService(ctx, user_id)
    paper = brokers.add_paper("Paper")
    kite = brokers.add_kite("kitekey1234", "kite-secret", "Zerodha", None)
    brokers.store_access_token(kite.id, "token-abc123", now + timedelta(hours=1))
    # The market stands where the seeded positions were last marked: the stop-losses are
    # judged against these prices.
    with ctx.session() as s:
        for symbol, _, _, _, ltp, _, _, _ in POSITIONS:
            s.exec(select(Instrument).where(Instrument.symbol == symbol)).one().last_price = \
                Decimal(ltp)
    service = StrategyService(ctx, user_id)
    # LIVE strategies trade through the Kite account; the others on paper.
    specs = [service.create({**s, "broker_account_id": str(kite.id if s["mode"] == "LIVE"
                                                             else paper.id)})
             for s in STRATEGIES]
    with ctx.session() as s:
        s.get(Strategy, specs[0].id).status = StrategyStatus.RUNNING
        s.get(Strategy, specs[1].id).status = StrategyStatus.STOPPED
        for symbol, index, qty, avg, ltp, unreal, real, status in POSITIONS:
            s.add(Position(user_id=user_id, strategy_id=specs[index].id, symbol=symbol,
                           quantity=qty, average_price=Decimal(avg), ltp=Decimal(ltp),
                           unrealized_pnl=Decimal(unreal), realized_pnl=Decimal(real),
                           status=PositionStatus(status), opened_at=now, updated_at=now,
                           closed_at=now if status == "CLOSED" else None))
        for n, (minutes, symbol, side, reason, qty, filled, avg, status, index, error) in \
                enumerate(ORDERS):
            at = now + timedelta(minutes=minutes)
            order = Order(
                id=uuid.UUID(int=n + 1), user_id=user_id,
                strategy_id=specs[index].id if index is not None else None,
                broker_account_id=paper.id, intent_key=f"seed-{n}", client_tag=f"seedtag{n}",
                intent_state=IntentState.DONE if status == "FILLED" else IntentState.FAILED,
                trading_day=ist_date(at), symbol=symbol, side=Side(side),
                reason=OrderReason(reason), quantity=qty, filled_quantity=filled,
                average_price=Decimal(avg) if avg else None, status=OrderStatus(status),
                broker_order_id=f"PAPER-{1000 + n}", error=error, placed_at=at, created_at=at,
                updated_at=at,
                raw_response={"order_id": f"PAPER-{1000 + n}", "status": status,
                              "filled_quantity": filled, "average_price": avg,
                              "status_message": error})
            s.add(order)
            s.flush()
            s.add(OrderHistory(order_id=order.id, user_id=user_id, status=OrderStatus.PENDING,
                               intent_state=IntentState.FIRING, message="sent to broker",
                               created_at=at))
            s.add(OrderHistory(order_id=order.id, user_id=user_id, status=OrderStatus(status),
                               intent_state=order.intent_state, filled_quantity=filled,
                               average_price=order.average_price, message=error,
                               created_at=at + timedelta(seconds=1)))
        for minutes, kind, severity, title, body, read in NOTIFICATIONS:
            s.add(Notification(user_id=user_id, kind=NotificationKind(kind),
                               severity=Severity(severity), title=title, body=body,
                               is_read=read, created_at=now + timedelta(minutes=minutes)))
    return {"paper": paper, "kite": kite, "strategies": specs}


def pnl_curve(now, points: int = 40):
    """A fixed intraday net-P&L curve ending at `now` (one point a minute)."""
    start = now - timedelta(minutes=points - 1)
    values = [Decimal(str(round(60 * ((i % 13) - 4) + 3.5 * i - (i // 9) * 40, 2)))
              for i in range(points)]
    return [(start + timedelta(minutes=i), v) for i, v in enumerate(values)]

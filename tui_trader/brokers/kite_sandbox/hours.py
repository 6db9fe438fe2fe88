"""The sandbox's trading hours: when Kite takes which orders for NSE/BSE equity, when the
exchange matches, and when an order's validity ends.

A trading day (from `NseCalendar`: holidays, special sessions) has a pre-open from 09:00
and a continuous session from 09:15 to 15:30. Regular orders are taken from the pre-open
to the close (only DAY limit and market orders during the pre-open, which the exchange
matches from the open); after market orders (AMOs) from 16:00 to 08:58 the next morning,
and at any time on a day without a session. An AMO reaches the exchange at 09:00 of the
next trading day, or at the open if it is a stop-loss or IOC order (Zerodha's published
AMO timings). DAY orders still working at the close expire; TTL orders after their
minutes, or at the close if that comes first. Everything is judged on the sandbox's
injected clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from tui_trader.domain.calendar import NseCalendar, Session
from tui_trader.domain.clock import IST, ensure_utc, ist_datetime

PRE_OPEN = timedelta(minutes=15)  # before the open
AMO_WINDOW_OPENS = time(16, 0)
AMO_WINDOW_CLOSES = time(8, 58)

MARKETS_CLOSED = ("Markets are closed right now. Place an after market order (AMO), or use "
                  "GTT for orders that should wait for a price.")
AMO_OUTSIDE_WINDOW = ("AMOs are taken only outside market hours: from 4:00 PM to 8:58 AM, "
                      "or at any time on a market holiday.")
PRE_OPEN_ONLY_DAY_ORDERS = ("Only DAY limit and market orders can be placed in the pre-open "
                            "session; place stop-loss and IOC orders after 9:15 AM.")


class TradingHours:
    def __init__(self, calendar: NseCalendar) -> None:
        self.calendar = calendar

    def _session(self, now: datetime) -> tuple[datetime, Session | None]:
        local = ensure_utc(now).astimezone(IST)
        return local, self.calendar.session(local.date())

    def in_pre_open(self, now: datetime) -> bool:
        local, session = self._session(now)
        return session is not None and session.open_at() - PRE_OPEN <= local < session.open_at()

    def takes_regular(self, now: datetime) -> bool:
        """Regular orders: from the pre-open to the close of a trading day."""
        local, session = self._session(now)
        return session is not None and \
            session.open_at() - PRE_OPEN <= local < session.close_at()

    def takes_amo(self, now: datetime) -> bool:
        local, session = self._session(now)
        if session is None:
            return True
        return local.time() >= AMO_WINDOW_OPENS or local.time() < AMO_WINDOW_CLOSES

    def is_matching(self, now: datetime) -> bool:
        """The continuous session: the exchange matches orders."""
        return self.calendar.is_open(now)

    def amo_release(self, now: datetime, at_open: bool) -> datetime:
        """When an AMO taken at `now` reaches the exchange: the pre-open of the next trading
        day (today's, if it is still to come), or its open for stop-loss and IOC orders."""
        local = ensure_utc(now).astimezone(IST)
        day: date = local.date()
        for _ in range(400):
            session = self.calendar.session(day)
            if session is not None:
                at = session.open_at() if at_open else session.open_at() - PRE_OPEN
                if at >= local:
                    return ensure_utc(at)
            day += timedelta(days=1)
        raise ValueError("no trading day within 400 days")

    def close_after(self, now: datetime) -> datetime:
        """The close of the session an order working at `now` belongs to."""
        local, session = self._session(now)
        if session is not None:
            return ensure_utc(session.close_at())
        return ensure_utc(ist_datetime(local.date(), time(23, 59, 59)))

"""Practice days: a past trading day replayed through the live engine on a simulated clock.

Isolation is structural. A practice day has its own data directory (`<data dir>/practice`,
emptied at each start) holding its own SQLite database, its own embedded live store (a
private in-process server, never the configured Redis) and its own simulated clock; its
user, paper account, strategies, orders and positions live only there. The engine it runs
is an ordinary `EmbeddedEngine` on that context, given no live-broker factory, so no order
of it can reach a real broker (and the engine refuses LIVE strategies on a simulated clock
in any case). The real install's database is only read, for stored candles of the day.

Market data: the day's stored 1-minute candles of each symbol (from the real database), or
for a symbol with none, a simulated session made by the simulated feed (seeded, the same
for every date, so the demo's stop-loss is hit on any day). Either way the candles go
through `ReplayFeed` as ticks, following the simulated clock, to the engine's router,
stops and paper broker: one path.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from ..brokers.feeds.replay import Candle, ReplayFeed
from ..brokers.feeds.session import simulated_session
from ..config import Settings, load_settings
from ..db.models import Order, Position
from ..domain.clock import IST, SimulatedClock
from ..domain.enums import OrderStatus, PositionStatus, Timeframe
from ..domain.errors import StateError
from ..domain.practice import PracticePlan
from ..domain.universe import BY_SYMBOL
from ..live.store import private_embedded_store
from ..security.files import private_dir
from ..security.keystore import KEY_FILE_NAME, FileKeyStore
from .context import AppContext, bootstrap
from .demo import DEMO_EMAIL, PRACTICE_SAMPLES, SAMPLE_STRATEGIES, sample_stop
from .views import LoginResult

log = logging.getLogger(__name__)

PRACTICE_DIR = "practice"
DEFAULT_SEED = 33  # the default practice market: TCS falls through the demo's stop at 09:29
TERMINAL = {OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.CANCELLED}
# How long past the session's end (in wall seconds) a headless run may take to wind down.
FINISH_GRACE_S = 30.0


@dataclass(frozen=True)
class PracticeOrder:
    symbol: str
    side: str
    reason: str
    status: str
    quantity: int
    filled_quantity: int
    average_price: Decimal | None
    placed_at: datetime | None

    def as_dict(self) -> dict:
        return {"symbol": self.symbol, "side": self.side, "reason": self.reason,
                "status": self.status, "quantity": self.quantity,
                "filled_quantity": self.filled_quantity,
                "average_price": None if self.average_price is None
                else str(self.average_price),
                "placed_at": None if self.placed_at is None
                else self.placed_at.astimezone(IST).isoformat()}

    def describe(self) -> str:
        at = f"{self.placed_at.astimezone(IST):%H:%M:%S} IST " if self.placed_at else ""
        price = f" at {self.average_price}" if self.average_price is not None else ""
        return (f"{at}{self.symbol} {self.side} {self.quantity} ({self.reason}): "
                f"{self.status.lower()}{price}")


@dataclass(frozen=True)
class PracticeResult:
    day: str
    speed: float
    source: dict[str, str]
    orders: list[PracticeOrder]
    net_pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    open_positions: int

    def as_dict(self) -> dict:
        """The JSON object a headless run prints last (money as exact text)."""
        speed = int(self.speed) if float(self.speed).is_integer() else self.speed
        return {"date": self.day, "speed": speed, "source": self.source,
                "orders": [o.as_dict() for o in self.orders],
                "net_pnl": str(self.net_pnl), "realized_pnl": str(self.realized_pnl),
                "unrealized_pnl": str(self.unrealized_pnl),
                "open_positions": self.open_positions}


@dataclass
class PracticeDay:
    """One practice day: built by `open_practice_day`, then `start()`, watched with
    `finished()` / `result()`, and `close()`d."""

    plan: PracticePlan
    ctx: AppContext
    clock: SimulatedClock
    login: LoginResult
    engine: object
    source: dict[str, str]
    strategy_ids: list[uuid.UUID] = field(default_factory=list)
    strategy_names: list[str] = field(default_factory=list)
    last_sell_at: datetime | None = None
    closed: bool = False
    lock: int | None = None  # the held practice lock's file descriptor

    @property
    def user_id(self) -> uuid.UUID:
        return self.login.user.id

    def label(self) -> str:
        return self.plan.label()

    def start(self) -> list[str]:
        """Start the engine and every practice strategy with the clock held at its lead-in,
        then let it run (however long starting took, even at 1000x no leg has gone by);
        the start notes of the strategies."""
        self.clock.hold()
        self.engine.start()
        notes = [self.engine.start_strategy(self.user_id, ident).message
                 for ident in self.strategy_ids]
        self.clock.restart()
        return notes

    def finished(self) -> bool:
        """The session is over, or every strategy is done for the day: past its last
        SELL time with nothing open and no order still working."""
        now = self.clock.now()
        if now >= self.plan.ends_at:
            return True
        if self.last_sell_at is None or now < self.last_sell_at:
            return False
        with self.ctx.db.connect() as conn:
            working = conn.execute(sa.select(sa.func.count()).select_from(ORDERS).where(
                ORDERS.c.user_id == self.user_id,
                ORDERS.c.status.not_in([s.value for s in TERMINAL]))).scalar()
            holding = conn.execute(sa.select(sa.func.count()).select_from(POSITIONS).where(
                POSITIONS.c.user_id == self.user_id,
                POSITIONS.c.status == PositionStatus.OPEN.value)).scalar()
        return not working and not holding

    def orders(self) -> list[PracticeOrder]:
        with self.ctx.db.connect() as conn:
            rows = conn.execute(sa.select(
                ORDERS.c.symbol, ORDERS.c.side, ORDERS.c.reason, ORDERS.c.status,
                ORDERS.c.quantity, ORDERS.c.filled_quantity, ORDERS.c.average_price,
                ORDERS.c.created_at).where(ORDERS.c.user_id == self.user_id)
                .order_by(ORDERS.c.created_at, ORDERS.c.symbol)).all()
        return [PracticeOrder(symbol=r.symbol, side=_text(r.side), reason=_text(r.reason),
                              status=_text(r.status), quantity=r.quantity,
                              filled_quantity=r.filled_quantity,
                              average_price=r.average_price, placed_at=r.created_at)
                for r in rows]

    def result(self) -> PracticeResult:
        with self.ctx.db.connect() as conn:
            rows = conn.execute(sa.select(POSITIONS.c.realized_pnl, POSITIONS.c.unrealized_pnl,
                                          POSITIONS.c.status).where(
                POSITIONS.c.user_id == self.user_id)).all()
        realized = sum((Decimal(r.realized_pnl) for r in rows), Decimal(0))
        unrealized = sum((Decimal(r.unrealized_pnl) for r in rows
                          if _text(r.status) == PositionStatus.OPEN.value), Decimal(0))
        open_count = sum(1 for r in rows if _text(r.status) == PositionStatus.OPEN.value)
        return PracticeResult(day=self.plan.day.isoformat(), speed=self.plan.speed,
                              source=self.source, orders=self.orders(),
                              net_pnl=realized + unrealized, realized_pnl=realized,
                              unrealized_pnl=unrealized, open_positions=open_count)

    def close(self) -> None:
        """Stop the engine and let go of the practice database and store (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.engine.stop()
        finally:
            self.ctx.close()
            release(self.lock)


ORDERS = Order.__table__
POSITIONS = Position.__table__


def _text(value) -> str:
    return getattr(value, "value", value)


def own_strategies(ctx: AppContext, user_id: uuid.UUID,
                   plan: PracticePlan) -> tuple[list[tuple[dict, Decimal]], list[str]]:
    """A trader's strategies as practice samples (LIVE ones practised on paper), each stop
    kept at the same distance under the price as it is now under the last known price;
    and one line for each strategy left out, saying why. Only strategies whose times fall
    in the day's session and whose symbol the practice market has are taken; the demo's
    own samples are not (a demo account practises the quicker practice pair instead)."""
    from .strategies import StrategyService

    service = StrategyService(ctx, user_id)
    samples: list[tuple[dict, Decimal]] = []
    skipped: list[str] = []
    demo = {(s["name"], s["symbol"], s["buy_time"], s["sell_time"]) for s in SAMPLE_STRATEGIES}
    for spec in service.list():
        if (spec.name, spec.symbol, f"{spec.buy_time:%H:%M}", f"{spec.sell_time:%H:%M}") in demo:
            continue
        if not plan.session.holds(spec.buy_time, spec.sell_time):
            skipped.append(f"{spec.name}: its times are outside the practised session")
            continue
        if spec.symbol not in BY_SYMBOL:
            skipped.append(f"{spec.name}: {spec.symbol} is not in the practice market")
            continue
        known = service.last_known_price(spec.symbol, spec.exchange)
        price = known.price if known is not None else BY_SYMBOL[spec.symbol].ref_price
        below = 1 - spec.stop_loss / price
        if not Decimal(0) < below < 1:
            skipped.append(f"{spec.name}: its stop-loss is not under the price")
            continue
        samples.append(({"name": spec.name, "symbol": spec.symbol,
                         "buy_time": f"{spec.buy_time:%H:%M}",
                         "sell_time": f"{spec.sell_time:%H:%M}",
                         "quantity": str(spec.quantity), "mode": "PAPER"}, below))
    return samples, skipped


def practice_settings(settings: Settings, plan: PracticePlan) -> Settings:
    """The practice context's settings: its own data dir and SQLite database, the embedded
    store, the engine in this process, the simulated clock of the plan."""
    folder = Path(settings.data_dir) / PRACTICE_DIR
    return load_settings(data_dir=folder, database_url=f"sqlite:///{folder / 'practice.db'}",
                         redis_url="", engine_mode="embedded", clock_start=plan.starts_at,
                         clock_speed=plan.speed)


def open_practice_day(settings: Settings, plan: PracticePlan, *, seed: int = DEFAULT_SEED,
                      email: str | None = None, name: str | None = None,
                      samples: Iterable[tuple[dict, Decimal]] = PRACTICE_SAMPLES,
                      say: Callable[[str], None] = lambda _text: None) -> PracticeDay:
    """Build a practice day (nothing runs yet): a fresh practice data dir, database and
    store; the day's market; a practice user with a paper account and the sample
    strategies, their stops under the day's opening prices."""
    from ..db.repositories import InstrumentRepository
    from ..engine.embedded import EmbeddedEngine
    from .auth import AuthService
    from .brokers import BrokerAccountService
    from .strategies import StrategyService

    samples = list(samples)
    symbols = list(dict.fromkeys(sample["symbol"] for sample, _ in samples))
    stored = stored_candles(settings, plan, symbols)
    missing = [symbol for symbol in symbols if symbol not in stored]
    candles: list[Candle] = [c for symbol in symbols for c in stored.get(symbol, [])]
    candles += simulated_session(plan.session, missing, seed=seed)
    candles.sort(key=lambda c: (c[1], symbols.index(c[0])))
    source = {symbol: "stored" if symbol in stored else "simulated" for symbol in symbols}
    say(f"{plan.label()}: " + ", ".join(f"{s} {source[s]}" for s in symbols))

    inner = practice_settings(settings, plan)
    lock = hold_practice_lock(Path(settings.data_dir))
    clock = SimulatedClock(plan.starts_at, plan.speed)
    try:
        fresh_dir(inner.data_dir)
        # A key file of its own (it seals nothing: practice has no broker credentials), so
        # a practice day never touches the OS keyring the real install may use.
        FileKeyStore(Path(inner.data_dir) / KEY_FILE_NAME).initialize()
        ctx = bootstrap(inner, clock=clock, store=private_embedded_store())
    except BaseException:
        release(lock)
        raise
    try:
        opening = {}
        for symbol in symbols:
            first = next(c for c in candles if c[0] == symbol)
            opening[symbol] = (first[2], plan.starts_at)
        with ctx.session() as s:
            InstrumentRepository(s).remember_prices(opening)
        password = secrets.token_urlsafe(24)  # never shown: the practice signs itself in
        auth = AuthService(ctx)
        auth.sign_up(email or DEMO_EMAIL, password, name or "Practice trader")
        login = auth.login(email or DEMO_EMAIL, password)
        account = BrokerAccountService(ctx, login.user.id).add_paper("Practice paper")
        service = StrategyService(ctx, login.user.id)
        ids, names, sells = [], [], []
        for sample, below in samples:
            price = opening[sample["symbol"]][0]
            spec = service.create({**sample, "stop_loss": str(sample_stop(price, below)),
                                   "broker_account_id": str(account.id)})
            ids.append(spec.id)
            names.append(spec.name)
            sells.append(datetime.combine(plan.day, spec.sell_time, tzinfo=IST))
        feed = ReplayFeed(candles, plan.speed, clock=clock, follow_clock=True)
        engine = EmbeddedEngine(ctx, feed=feed, consumer="practice")
    except BaseException:
        ctx.close()
        release(lock)
        raise
    return PracticeDay(plan=plan, ctx=ctx, clock=clock, login=login, engine=engine,
                       source=source, strategy_ids=ids, strategy_names=names,
                       last_sell_at=max(sells, default=None), lock=lock)


def hold_practice_lock(data_dir: Path) -> int | None:
    """One practice day at a time per data dir (each empties the practice dir): a lock
    beside it, held until the day is closed. StateError when another holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no second practice check
        return None
    private_dir(data_dir)
    fd = os.open(data_dir / f"{PRACTICE_DIR}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StateError("A practice day is already running from this data directory (in "
                         "another console or command); end that one first") from None
    return fd


def release(lock: int | None) -> None:
    if lock is not None:
        os.close(lock)  # closing releases the flock


def fresh_dir(folder: Path) -> None:
    """An empty practice data dir: the previous practice day's is removed first."""
    folder = Path(folder)
    if folder.name != PRACTICE_DIR:  # never remove anything but a practice dir
        raise StateError(f"not a practice directory: {folder}")
    if folder.exists():
        shutil.rmtree(folder)
    private_dir(folder)


def stored_candles(settings: Settings, plan: PracticePlan,
                   symbols: list[str]) -> dict[str, list[Candle]]:
    """The day's stored 1-minute candles per symbol, from the real database (read only; a
    database that does not exist yet has none, and is not created for this)."""
    from sqlmodel import Session

    from ..db.engine import create_db_engine
    from ..db.repositories.candles import CandleRepository

    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        if not path.exists():
            return {}
    found: dict[str, list[Candle]] = {}
    try:
        engine = create_db_engine(url)
    except Exception:
        log.warning("stored candles not read: database unavailable", exc_info=True)
        return {}
    try:
        with Session(engine) as s:
            repo = CandleRepository(s)
            last = plan.session.close_at() - timedelta(minutes=1)
            for symbol in symbols:
                exchange = BY_SYMBOL[symbol].exchange if symbol in BY_SYMBOL else "NSE"
                rows = repo.between(symbol, exchange, Timeframe.MINUTE,
                                    plan.session.open_at(), last)
                if rows:
                    found[symbol] = [(symbol, r.ts, r.open, r.high, r.low, r.close,
                                      int(r.volume or 0)) for r in rows]
    except Exception:  # no candles table yet, or the server blinked: simulate instead
        log.warning("stored candles not read", exc_info=True)
        return {}
    finally:
        engine.dispose()
    return found


def run_headless(day: PracticeDay, *, say: Callable[[str], None],
                 poll: float = 0.05) -> PracticeResult:
    """Run the practice day to its end with no console, telling `say` about each order as
    it changes; the result. A day that has not finished long after its session would have
    is an error, not a hang."""
    for note in day.start():
        say(note)
    budget = (day.plan.ends_at - day.clock.now()).total_seconds() / day.plan.speed
    deadline = time.monotonic() + budget + FINISH_GRACE_S
    seen: dict[tuple, str] = {}
    try:
        while not day.finished():
            if time.monotonic() > deadline:
                raise StateError(f"the practice day did not finish within "
                                 f"{budget + FINISH_GRACE_S:.0f} s")
            _report(day, seen, say)
            time.sleep(poll)
        _report(day, seen, say)
        return day.result()
    finally:
        day.close()


def _report(day: PracticeDay, seen: dict[tuple, str], say: Callable[[str], None]) -> None:
    for index, order in enumerate(day.orders()):
        key = (index, order.symbol, order.reason)
        text = order.describe()
        if seen.get(key) != order.status:
            seen[key] = order.status
            say(text)

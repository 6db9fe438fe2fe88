"""Strategy use cases: create, edit, duplicate, delete, list with today's P&L.

Starting and stopping live in `strategy_control` (they touch the live store and engine).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from ..db.models import Order, Position, Strategy
from ..db.repositories import BrokerAccountRepository, InstrumentRepository, StrategyRepository
from ..db.repositories.strategies import to_spec
from ..domain.audit import AuditAction
from ..domain.calendar import MARKET_CLOSE
from ..domain.calendar import Session as MarketSession
from ..domain.catalog import entry_for
from ..domain.clock import IST, ist_date, ist_datetime
from ..domain.enums import BrokerKind, OrderStatus, PositionStatus, StrategyKind, StrategyStatus
from ..domain.errors import NotFoundError, StateError, ValidationError
from ..domain.exit_rules import SESSION_OPEN, LevelMode
from ..domain.labels import label_of
from ..domain.stop_rule import (
    LAST_KNOWN,
    LIVE,
    KnownPrice,
    require_stop_below,
    stop_rule_broken,
)
from ..domain.strategy import StrategySpec
from ..domain.strategy_rules import (
    KindDraft,
    StrategyDraft,
    check_kind_form,
    check_strategy_form,
    exit_key,
    kind_form_keys,
    require_valid,
    updatable_keys,
)
from ..live.state import LiveState
from .audit import record_audit
from .context import AppContext
from .strategy_words import StrategyFacts, last_signal, next_action
from .views import StrategyRow


def is_signal_kind(raw: Mapping[str, Any]) -> bool:
    """The form is of a kind other than scheduled (its settings are parameters)."""
    return str(raw.get("kind") or StrategyKind.SCHEDULED) != StrategyKind.SCHEDULED


def not_runnable(kind: StrategyKind) -> str:
    """The Kind field's rule while the engine cannot run `kind` (one wording)."""
    return (f"{kind.value} strategies are in the catalog but the engine does not run them "
            f"yet; choose scheduled")


def _time_text(value: time) -> str:
    return value.strftime("%H:%M:%S").removesuffix(":00")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, time):
        return _time_text(value)
    return str(value)


def _same(key: str, now: str, new: Any) -> bool:
    """Whether a form value says the same as the stored one (09:30 = 09:30:00, 1450.5 =
    1450.50, infy = INFY)."""
    text = str(new if new is not None else "").strip()
    if text.upper() == now.upper():
        return True
    try:
        return Decimal(text) == Decimal(now)
    except ArithmeticError:
        pass
    try:
        return time.fromisoformat(text) == time.fromisoformat(now)
    except ValueError:
        return False

# The kind as the table names it (a column of 10).
KIND_SHORT = {StrategyKind.SCHEDULED: "Scheduled", StrategyKind.EMA_CROSSOVER: "EMA cross",
              StrategyKind.RSI_REVERSION: "RSI", StrategyKind.BREAKOUT: "Breakout",
              StrategyKind.SUPERTREND: "Supertrend"}


def kind_settings(row: Strategy) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A strategy's kind parameters, exit rules and product as stored in
    `strategies.parameters` ({"params": ..., "exits": ..., "product": ...}); a scheduled
    strategy keeps its times and stop in columns and its exits are the catalog's."""
    stored = row.parameters or {}
    return (dict(stored.get("params") or {}), dict(stored.get("exits") or {}),
            str(stored.get("product") or "MIS"))


def facts_of(row: Strategy, position: Position | None) -> StrategyFacts:
    params, exits, _ = kind_settings(row)
    return StrategyFacts(
        kind=row.kind, status=row.status.value, params=params, exits=exits,
        held=position.quantity if position is not None else 0,
        entry=position.average_price if position is not None else None,
        buy_time=row.buy_time, sell_time=row.sell_time,
        # The stop the engine set on the position, else the strategy's.
        stop_loss=(position.stop_loss if position is not None and position.stop_loss
                   else row.stop_loss))

# A price the engine saw this recently is a live one; older, it is the last known.
LIVE_FOR = timedelta(minutes=1)


class StrategyService:
    def __init__(self, ctx: AppContext, user_id: uuid.UUID) -> None:
        self.ctx = ctx
        self.user_id = user_id

    # -- validation --------------------------------------------------------------------
    def special_sessions(self) -> list[MarketSession]:
        """The special sessions from today (IST) on: legs may be written for them."""
        return self.ctx.calendar.special_sessions(ist_date(self.ctx.clock.now()))

    def check(self, raw: Mapping[str, Any]) -> dict[str, str]:
        """Every field error of a form, including an unknown symbol (for as-you-type UI)."""
        if is_signal_kind(raw):
            return self._check_kind(raw)
        draft, errors = check_strategy_form(raw, self.special_sessions())
        if "symbol" not in errors and raw.get("symbol"):
            with self.ctx.session() as s:
                symbol = str(raw.get("symbol")).strip().upper()
                exchange = str(raw.get("exchange") or "NSE")
                if InstrumentRepository(s).get(symbol, exchange) is None:
                    errors["symbol"] = "is not in the instruments list"
                elif draft is not None:
                    rule = stop_rule_broken(draft.stop_loss,
                                            self._last_known_price(s, symbol, exchange))
                    if rule is not None:
                        errors["stop_loss"] = rule
        return errors

    def _check_kind(self, raw: Mapping[str, Any]) -> dict[str, str]:
        draft, errors = check_kind_form(raw)
        symbol = str(raw.get("symbol") or "").strip().upper()
        if "symbol" not in errors and symbol:
            with self.ctx.session() as s:
                exchange = str(raw.get("exchange") or "NSE")
                if InstrumentRepository(s).get(symbol, exchange) is None:
                    errors["symbol"] = "is not in the instruments list"
                elif draft is not None and draft.exits.stop_mode is LevelMode.PRICE:
                    rule = stop_rule_broken(draft.exits.stop_loss,
                                            self._last_known_price(s, symbol, exchange))
                    if rule is not None:
                        errors["stop_loss"] = rule
        return errors

    def _validated_kind(self, raw: Mapping[str, Any]) -> KindDraft:
        """A signal kind's form, valid as a whole, or the first bad field (form order)
        raised; then refused at the Kind field while the engine cannot run the kind."""
        errors = self._check_kind(raw)
        if errors:
            params, exits = kind_form_keys(StrategyKind(str(raw.get("kind"))))
            order = ["name", "symbol", *params, "product", "quantity", *exits, "mode",
                     "broker_account_id"]
            field = min(errors, key=lambda f: order.index(f) if f in order else -1)
            raise ValidationError(field, errors[field])
        draft, _ = check_kind_form(raw)
        assert draft is not None
        entry = entry_for(draft.kind)
        if entry is None or not entry.runs:
            raise ValidationError("kind", not_runnable(draft.kind))
        return draft

    def _validated(self, s: Session, raw: Mapping[str, Any]) -> StrategyDraft:
        draft = require_valid(raw, self.special_sessions())
        if InstrumentRepository(s).get(draft.symbol, draft.exchange) is None:
            raise ValidationError("symbol", f"{draft.symbol} is not in the instruments list")
        require_stop_below(draft.stop_loss,
                           self._last_known_price(s, draft.symbol, draft.exchange))
        return draft

    def last_known_price(self, symbol: str, exchange: str = "NSE") -> KnownPrice | None:
        """What a stop-loss for `symbol` is judged against now (the editor shows it)."""
        with self.ctx.session() as s:
            return self._last_known_price(s, symbol.strip().upper(), exchange)

    def _last_known_price(self, s: Session, symbol: str, exchange: str) -> KnownPrice | None:
        """The engine's latest price (`price:{symbol}` in the live store, kept by whichever
        engine runs), else the stored one."""
        try:
            seen = LiveState(self.ctx.store).get_price(symbol)
        except Exception:  # live store down: the stored price still judges the stop
            seen = None
        if seen is not None:
            fresh = self.ctx.clock.now() - seen[1] <= LIVE_FOR
            return KnownPrice(symbol, seen[0], LIVE if fresh else LAST_KNOWN, seen[1])
        return InstrumentRepository(s).last_known_price(symbol, exchange)

    def _broker(self, s: Session, raw: Mapping[str, Any]) -> uuid.UUID | None:
        account = raw.get("broker_account_id")
        if not account:
            return None
        try:
            row = BrokerAccountRepository(s, self.user_id).get(account)
        except NotFoundError:  # removed since the form was opened (here or elsewhere)
            raise ValidationError("broker_account_id", "this account was removed; choose "
                                                       "another") from None
        mode = str(raw.get("mode") or "PAPER").upper()
        if mode == "LIVE" and row.broker == BrokerKind.PAPER:
            raise ValidationError("broker_account_id", "LIVE needs a Zerodha Kite account, "
                                                       "not the paper broker")
        return row.id

    # -- changes -----------------------------------------------------------------------
    def create(self, raw: Mapping[str, Any]) -> StrategySpec:
        spec = self._create_kind(raw) if is_signal_kind(raw) else self._create(raw)
        self._audit(AuditAction.STRATEGY_CREATED, spec)
        return spec

    def _audit(self, action: AuditAction, spec: StrategySpec) -> None:
        record_audit(self.ctx, action, user_id=self.user_id, subject=spec.name,
                     details={"strategy_id": str(spec.id)})

    def _create(self, raw: Mapping[str, Any]) -> StrategySpec:
        try:
            with self.ctx.session() as s:
                draft = self._validated(s, raw)
                repo = StrategyRepository(s, self.user_id)
                if repo.by_name(draft.name) is not None:
                    raise ValidationError("name", f"'{draft.name}' is already used by another "
                                                  f"strategy")
                row = repo.add(Strategy(
                    user_id=self.user_id, name=draft.name, kind=draft.kind, symbol=draft.symbol,
                    exchange=draft.exchange, buy_time=draft.buy_time, sell_time=draft.sell_time,
                    stop_loss=draft.stop_loss, quantity=draft.quantity,
                    execution_mode=draft.mode, broker_account_id=self._broker(s, raw)))
                return to_spec(row)
        except IntegrityError:
            raise ValidationError("name", "is already used by another strategy") from None

    def _create_kind(self, raw: Mapping[str, Any]) -> StrategySpec:
        """A strategy of a signal kind. Its legs are the session it trades in (09:15 to
        its square-off) and its stop column the stop's amount; the kind's settings live in
        `parameters`. Refused at the Kind field while the engine cannot run the kind."""
        draft = self._validated_kind(raw)
        try:
            with self.ctx.session() as s:
                repo = StrategyRepository(s, self.user_id)
                if repo.by_name(draft.name) is not None:
                    raise ValidationError("name", f"'{draft.name}' is already used by another "
                                                  f"strategy")
                row = repo.add(Strategy(
                    user_id=self.user_id, name=draft.name, kind=draft.kind,
                    symbol=draft.symbol, exchange=draft.exchange, buy_time=SESSION_OPEN,
                    sell_time=draft.exits.square_off or MARKET_CLOSE,
                    stop_loss=draft.exits.stop_loss, quantity=draft.quantity,
                    parameters=draft.parameters(), execution_mode=draft.mode,
                    broker_account_id=self._broker(s, raw)))
                return to_spec(row)
        except IntegrityError:
            raise ValidationError("name", "is already used by another strategy") from None

    def form_values(self, strategy_id: uuid.UUID | str) -> dict[str, str]:
        """A saved strategy as its editor's form shows it (every value as text)."""
        with self.ctx.session() as s:
            row = StrategyRepository(s, self.user_id).get(strategy_id)
            values = {"name": row.name, "symbol": row.symbol, "quantity": str(row.quantity),
                      "kind": row.kind.value, "mode": row.execution_mode.value,
                      "broker_account_id": str(row.broker_account_id or "")}
            if row.kind is StrategyKind.SCHEDULED:
                values.update(buy_time=_time_text(row.buy_time),
                              sell_time=_time_text(row.sell_time),
                              stop_loss=f"{row.stop_loss:.2f}")
                return values
            params, exits, product = kind_settings(row)
            values["product"] = product
            values.update({k: _text(v) for k, v in params.items()})
            values.update({exit_key(row.kind, k): _text(v) for k, v in exits.items()})
            return values

    def _update_running(self, s: Session, row: Strategy, raw: Mapping[str, Any]
                        ) -> StrategySpec:
        """A running strategy may change only the settings its kind marks updatable: a
        change to any other is refused at its field, naming what it is now."""
        current = self.form_values(row.id)
        allowed = updatable_keys(row.kind)
        for key, now in current.items():
            if key in allowed or key not in raw:
                continue
            if _same(key, now, raw[key]):
                continue
            raise ValidationError(key, f"cannot change while the strategy runs (stop it "
                                       f"first); {label_of(key)} is {now or 'empty'}")
        if row.kind is StrategyKind.SCHEDULED:
            return to_spec(row)  # nothing of a scheduled strategy may change while it runs
        draft = self._validated_kind({**current, **raw})
        row.parameters = draft.parameters()
        s.flush()
        return to_spec(row)

    def _update_kind(self, s: Session, repo: StrategyRepository, row: Strategy,
                     raw: Mapping[str, Any]) -> StrategySpec:
        draft = self._validated_kind({**self.form_values(row.id), **raw})
        other = repo.by_name(draft.name)
        if other is not None and other.id != row.id:
            raise ValidationError("name", f"'{draft.name}' is already used by another "
                                          f"strategy")
        self._keep_what_an_open_position_needs(s, row, draft, raw)
        row.name, row.kind, row.symbol, row.exchange = (draft.name, draft.kind, draft.symbol,
                                                        draft.exchange)
        row.buy_time, row.sell_time = SESSION_OPEN, draft.exits.square_off or MARKET_CLOSE
        row.stop_loss, row.quantity, row.execution_mode = (draft.exits.stop_loss,
                                                           draft.quantity, draft.mode)
        row.parameters = draft.parameters()
        if "broker_account_id" in raw:
            row.broker_account_id = self._broker(s, raw)
        s.flush()
        return to_spec(row)

    def update(self, strategy_id: uuid.UUID | str, raw: Mapping[str, Any]) -> StrategySpec:
        spec = self._update(strategy_id, raw)
        self._audit(AuditAction.STRATEGY_EDITED, spec)
        return spec

    def _update(self, strategy_id: uuid.UUID | str, raw: Mapping[str, Any]) -> StrategySpec:
        with self.ctx.session() as s:
            repo = StrategyRepository(s, self.user_id)
            row = repo.get(strategy_id)
            if row.status == StrategyStatus.RUNNING:
                return self._update_running(s, row, raw)
            if row.kind is not StrategyKind.SCHEDULED or is_signal_kind(raw):
                return self._update_kind(s, repo, row, raw)
            draft = self._validated(s, raw)
            other = repo.by_name(draft.name)
            if other is not None and other.id != row.id:
                raise ValidationError("name", f"'{draft.name}' is already used by another "
                                              f"strategy")
            self._keep_what_an_open_position_needs(s, row, draft, raw)
            row.name, row.kind, row.symbol, row.exchange = (draft.name, draft.kind, draft.symbol,
                                                            draft.exchange)
            row.buy_time, row.sell_time = draft.buy_time, draft.sell_time
            row.stop_loss, row.quantity, row.execution_mode = (draft.stop_loss, draft.quantity,
                                                               draft.mode)
            if "broker_account_id" in raw:
                row.broker_account_id = self._broker(s, raw)
            s.flush()
            return to_spec(row)

    def _keep_what_an_open_position_needs(self, s, row, draft, raw: Mapping[str, Any]) -> None:
        """While the strategy holds an open position its exit must close exactly that
        position at its broker: symbol, quantity, mode and account cannot change until it
        is closed (times, stop-loss and name can)."""
        from sqlmodel import select

        from ..db.models import Position
        from ..domain.enums import PositionStatus

        held = s.exec(select(Position).where(Position.strategy_id == row.id,
                                             Position.status == PositionStatus.OPEN)).first()
        if held is None:
            return
        account = self._broker(s, raw) if "broker_account_id" in raw else row.broker_account_id
        for field, old, new in (("symbol", (row.exchange, row.symbol),
                                 (draft.exchange, draft.symbol)),
                                ("quantity", row.quantity, draft.quantity),
                                ("mode", row.execution_mode, draft.mode),
                                ("broker_account_id", row.broker_account_id, account)):
            if old != new:
                raise ValidationError(field, f"cannot change while the strategy holds an open "
                                             f"{held.symbol} position: close it first")

    def duplicate(self, strategy_id: uuid.UUID | str) -> StrategySpec:
        with self.ctx.session() as s:
            repo = StrategyRepository(s, self.user_id)
            row = repo.get(strategy_id)
            base = f"{row.name} (copy)"[:74]
            name, n = base, 2
            while repo.by_name(name) is not None:
                name, n = f"{base} {n}", n + 1
            copy = repo.add(Strategy(
                user_id=self.user_id, name=name, kind=row.kind, symbol=row.symbol,
                exchange=row.exchange, buy_time=row.buy_time, sell_time=row.sell_time,
                stop_loss=row.stop_loss, quantity=row.quantity, parameters=dict(row.parameters),
                execution_mode=row.execution_mode, broker_account_id=row.broker_account_id))
            spec = to_spec(copy)
        self._audit(AuditAction.STRATEGY_CREATED, spec)
        return spec

    def delete(self, strategy_id: uuid.UUID | str) -> None:
        from sqlmodel import select

        from ..db.models import Position
        from ..domain.enums import PositionStatus

        with self.ctx.session() as s:
            repo = StrategyRepository(s, self.user_id)
            row = repo.get(strategy_id)
            if row.status == StrategyStatus.RUNNING:
                raise StateError("Stop the strategy (x) before deleting it")
            held = s.exec(select(Position).where(Position.strategy_id == row.id,
                                                 Position.status == PositionStatus.OPEN)).first()
            if held is not None:
                raise StateError(f"It still holds {held.quantity} {held.symbol}: close the "
                                 f"position first (K squares off)")
            spec = to_spec(row)
            repo.delete(strategy_id)
        self._audit(AuditAction.STRATEGY_DELETED, spec)

    # -- reads -------------------------------------------------------------------------
    def get(self, strategy_id: uuid.UUID | str) -> StrategySpec:
        with self.ctx.session() as s:
            return to_spec(StrategyRepository(s, self.user_id).get(strategy_id))

    def list(self) -> list[StrategySpec]:
        with self.ctx.session() as s:
            return [to_spec(r) for r in StrategyRepository(s, self.user_id).list()]

    def rows(self) -> list[StrategyRow]:
        """The strategies table: config, status, open position, last signal, the next
        planned action in words and today's realized + unrealized P&L."""
        # "Today" is the IST trading day, whatever the server's zone.
        now = self.ctx.clock.now()
        day_start = ist_datetime(now.astimezone(IST).date(), time(0, 0))
        with self.ctx.session() as s:
            strategies = StrategyRepository(s, self.user_id).list()
            pnl: dict[uuid.UUID, Decimal] = {}
            positions = s.exec(select(Position).where(
                Position.user_id == self.user_id,
                col(Position.updated_at) >= day_start)).all()
            for p in positions:
                if p.strategy_id is not None:
                    pnl[p.strategy_id] = (pnl.get(p.strategy_id, Decimal(0)) + p.realized_pnl
                                          + p.unrealized_pnl)
            held = self._open_positions(s)
            last = self._last_orders(s)
            rows = []
            for r in strategies:
                position = held.get(r.id)
                order = last.get(r.id)
                facts = facts_of(r, position)
                rows.append(StrategyRow(
                    id=r.id, name=r.name, symbol=r.symbol,
                    buy_time=r.buy_time.strftime("%H:%M:%S"),
                    sell_time=r.sell_time.strftime("%H:%M:%S"),
                    stop_loss=r.stop_loss, quantity=r.quantity, mode=r.execution_mode.value,
                    status=r.status.value, status_reason=r.status_reason,
                    pnl_today=pnl.get(r.id, Decimal(0)), kind=r.kind.value,
                    kind_name=KIND_SHORT.get(r.kind, r.kind.value),
                    held=position.quantity if position is not None else 0,
                    last_signal=last_signal(order.side.value, order.reason.value,
                                            order.placed_at or order.created_at,
                                            order.average_price or order.price, now)
                    if order is not None else "",
                    next_action=next_action(facts, now, self.ctx.calendar)))
            return rows

    def _open_positions(self, s: Session) -> dict[uuid.UUID, Position]:
        """Each strategy's open position (the latest, should there be more)."""
        rows = s.exec(select(Position).where(
            Position.user_id == self.user_id, Position.status == PositionStatus.OPEN,
            col(Position.strategy_id).is_not(None))
            .order_by(col(Position.opened_at))).all()
        return {p.strategy_id: p for p in rows if p.quantity != 0}

    def _last_orders(self, s: Session) -> dict[uuid.UUID, Order]:
        """Each strategy's last order that reached the broker (its last signal acted on)."""
        acted = (Order.user_id == self.user_id, col(Order.strategy_id).is_not(None),
                 Order.status != OrderStatus.REJECTED)
        # Each strategy's newest order time first (one row a strategy), so the whole order
        # history is never read for a table.
        latest = select(Order.strategy_id, func.max(Order.created_at).label("at")) \
            .where(*acted).group_by(Order.strategy_id).subquery()
        rows = s.exec(select(Order).join(latest, (Order.strategy_id == latest.c.strategy_id)
                                         & (Order.created_at == latest.c.at))
                      .where(*acted).order_by(col(Order.created_at))).all()
        return {o.strategy_id: o for o in rows}

    def count_running(self) -> int:
        with self.ctx.session() as s:
            return s.exec(select(func.count()).select_from(Strategy).where(
                Strategy.user_id == self.user_id,
                Strategy.status == StrategyStatus.RUNNING)).one()

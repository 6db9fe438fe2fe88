"""Settles intents whose outcome is not known by asking their broker: at start (before
entries open) and every few seconds while running.

Found at the broker: adopted (or its refusal settled). FIRING and not found: the process
died before the call left, so it is re-armed to fire again. UNKNOWN and not found: a broker
may list a timed-out order late, so it is asked again on every pass, and only after the
grace is it declared not placed — never re-sent. An account that cannot be used sets its
intents aside (and blocks its entries) until it is fixed.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from ..brokers.base import AccountUnusable, BrokerError
from ..domain.clock import Clock
from ..domain.enums import IntentState, OrderReason, OrderStatus
from ..live.state import LiveState
from .alerts import Alerts
from .answers import Answers, Resolution
from .config import EngineConfig
from .directory import BrokerDirectory, StrategyDirectory
from .gate import EntryGate
from .intents import IntentLedger
from .order_row import OrderRow
from .placement import Placement
from .router import TickRouter

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, *, ledger: IntentLedger, brokers: BrokerDirectory, answers: Answers,
                 placement: Placement, strategies: StrategyDirectory, live: LiveState,
                 router: TickRouter, gate: EntryGate, alerts: Alerts, clock: Clock,
                 config: EngineConfig) -> None:
        self.ledger = ledger
        self.brokers = brokers
        self.answers = answers
        self.placement = placement
        self.strategies = strategies
        self.live = live
        self.router = router
        self.gate = gate
        self.alerts = alerts
        self.clock = clock
        self.config = config
        # (user, account) of intents set aside because the account cannot be used.
        self._unusable: dict[tuple[uuid.UUID, uuid.UUID | None], str] = {}

    def reconcile(self, older_than: datetime | None = None) -> int:
        """Settle intents whose outcome is not known by asking their broker.

        Found at the broker: adopted. FIRING and not found: the process died before the call
        left, and its stream entry is still pending, so it is re-armed to fire again. UNKNOWN
        and not found: a broker may list a timed-out order late, so it is asked again on
        every pass; only after `config.unknown_grace` is it declared not placed — never re-sent.
        """
        settled = 0
        now = self.clock.now()
        for row in self.ledger.unresolved(older_than):
            if row.intent_state is IntentState.SENT and row.status is OrderStatus.FILLED:
                continue
            try:
                settled += self._reconcile_row(row, now)
            except Exception:
                # One bad row must not stop the others (nor the engine's start).
                log.exception("reconcile of order %s (user %s, broker account %s) failed; "
                              "the other intents go on", row.client_tag, row.user_id,
                              row.broker_account_id)
        return settled

    def _reconcile_row(self, row: OrderRow, now: datetime) -> int:
        """Settle one unresolved intent (see `reconcile`); 1 when it was settled."""
        try:
            broker = self.brokers.for_account(row.user_id, row.broker_account_id)
            found = broker.orders_by_tag(row.client_tag)
        except AccountUnusable as exc:
            self._set_aside(row, exc, now)
            return 0
        except BrokerError as exc:
            # Built, or at least opened: whatever is wrong now (no session, a network
            # error) is not the account itself.
            self._usable_again(row.user_id, row.broker_account_id)
            log.warning("reconcile %s postponed: %s", row.client_tag, exc)
            return 0
        self._usable_again(row.user_id, row.broker_account_id)
        if found:
            refused = self.answers.resolve(row.id, broker) is Resolution.REFUSED
            # A SENT one moved its strategy on acceptance: the broker update applied in
            # `resolve` has undone that and said so. FIRING or UNKNOWN ones moved nothing
            # yet: the refusal is settled here.
            if refused and row.intent_state != IntentState.SENT:
                self.answers.settle_refusal(row.id)
            return 1
        if row.intent_state == IntentState.FIRING and \
                row.id not in self.placement.in_flight and \
                now - row.updated_at >= self.config.unknown_grace:
            # Only long after any call could still be on its way (a slow Kite call, a
            # rate-limit wait): re-arming an intent in flight would let a second exit claim
            # it.
            self.ledger.rearm(row.id, now, "reconciled: broker has no such order; re-armed")
            return 1
        if row.intent_state == IntentState.UNKNOWN and \
                now - row.updated_at >= self.config.unknown_grace:
            self._declare_not_placed(row, now)
            return 1
        return 0

    def _set_aside(self, row: OrderRow, exc: AccountUnusable, now: datetime) -> None:
        """An intent on an account that cannot be used (credentials that do not decrypt, or
        not its user's account) waits until the account is fixed. New entries through a
        broken account are held; a foreign one is not blocked (its owner trades on). The
        user is told once, naming the account."""
        key = (row.user_id, row.broker_account_id)
        if key in self._unusable:
            return
        self._unusable[key] = exc.message
        if not exc.foreign:
            self.gate.blocked_accounts[row.broker_account_id] = exc.message
        log.error("order %s of user %s left unreconciled: %s", row.client_tag,
                  row.user_id, exc.message)
        self.alerts.account_unusable(row, exc.message, now)

    def _usable_again(self, user_id: uuid.UUID, account_id: uuid.UUID | None) -> None:
        reason = self._unusable.pop((user_id, account_id), None)
        if reason is not None and self.gate.blocked_accounts.get(account_id) == reason:
            self.gate.blocked_accounts.pop(account_id, None)
            log.info("broker account %s is usable again: entries allowed", account_id)

    def _declare_not_placed(self, row: OrderRow, now: datetime) -> None:
        message = self.alerts.lost_answer_message(
            row.client_tag, int(self.config.unknown_grace.total_seconds()))
        self.ledger.mark_failed(row.id, now, message, status=OrderStatus.CANCELLED)
        spec = self.strategies.get(row.strategy_id) if row.strategy_id else None
        if spec is not None:
            if row.event_id:
                self.live.locks.release(spec.id, row.event_id)
            if row.reason != OrderReason.BUY:
                self.router.set_armed(spec.id, True)  # still holding: keep watching
            # A scheduled exit is still wanted: send it again, under the next attempt.
            self.answers.exit_again(spec, row.reason, now)
        self.alerts.not_placed_after_grace(row.user_id, row.symbol, row.reason,
                                           message, now)

"""Lifecycles as data: one transition table per thing with a state, and the one check every
state write goes through.

A table maps each state to the states it may move to, each move with a name saying why it
exists (the race or correction it serves). A write not in its table is refused with
`IllegalTransition`, so a new race is handled by adding a named row here, never by another
guarded branch somewhere else. Staying in a state (e.g. another partial fill of a SENT
intent) is a move too and must be listed.

Tables: the order intent (the exactly-once guard), the broker order status, the strategy's
live runtime position (`runtime:{id}`), the engine's own lifecycle (`EngineState`), and a
user's risk state (`RiskState`, whose moves are also named by `RiskMove`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Generic, TypeVar

from .enums import IntentState, OrderStatus, RuntimePosition
from .errors import TuiTraderError

S = TypeVar("S", bound=StrEnum)


class IllegalTransition(TuiTraderError):
    """A state write that its lifecycle's table does not allow."""

    def __init__(self, lifecycle: str, before: object, after: object) -> None:
        self.lifecycle, self.before, self.after = lifecycle, before, after
        super().__init__(f"{lifecycle}: {before} -> {after} is not an allowed move")


@dataclass(frozen=True)
class TransitionTable(Generic[S]):
    """The allowed moves of one lifecycle: {state: {next state: why}}."""

    name: str
    states: type[S]
    moves: Mapping[S, Mapping[S, str]]
    initial: frozenset[S]

    def allows(self, before: S | None, after: S) -> bool:
        """Whether `before -> after` is a move of this table (`before` None: a new thing,
        which must start in one of the initial states)."""
        if before is None:
            return after in self.initial
        return after in self.moves.get(before, {})

    def check(self, before: S | None, after: S) -> S:
        """`after`, if the move is allowed; IllegalTransition otherwise."""
        if not self.allows(before, after):
            raise IllegalTransition(self.name, before if before is not None else "(new)",
                                    after)
        return after

    def why(self, before: S, after: S) -> str:
        return self.moves[before][after]

    def allowed_from(self, before: S) -> frozenset[S]:
        return frozenset(self.moves.get(before, {}))

    def all_moves(self) -> Iterator[tuple[S, S]]:
        for before, targets in self.moves.items():
            for after in targets:
                yield before, after


def _table(name: str, states: type[S], initial: set[S],
           moves: dict[S, dict[S, str]]) -> TransitionTable[S]:
    missing = set(states) - set(moves)
    if missing:  # every state says where it may go, if only nowhere
        raise ValueError(f"{name}: no row for {sorted(missing)}")
    frozen = MappingProxyType({k: MappingProxyType(dict(v)) for k, v in moves.items()})
    return TransitionTable(name, states, frozen, frozenset(initial))


# -- the order intent: the exactly-once guard ----------------------------------------------

_I = IntentState
INTENT: TransitionTable[IntentState] = _table("order intent", IntentState, {_I.FIRING}, {
    _I.ARMED: {
        _I.FIRING: "an executor won the re-armed intent (conditional UPDATE)",
    },
    _I.FIRING: {
        _I.SENT: "the broker accepted it; not final yet",
        _I.DONE: "the broker's first answer was already final (filled, refused)",
        _I.UNKNOWN: "the call's outcome is unknown (timeout, lost connection)",
        _I.FAILED: "the broker refused it in its answer, or it could not be sent",
        _I.ARMED: "the broker was asked and has no order with its tag: may fire again",
    },
    _I.UNKNOWN: {
        _I.SENT: "found at the broker by its tag, working",
        _I.DONE: "found at the broker by its tag, final",
        _I.UNKNOWN: "asked again, still no answer",
        _I.FAILED: "declared not placed after the broker never listed it",
        _I.ARMED: "the broker proved it never received it: may fire again",
    },
    _I.SENT: {
        _I.SENT: "another update of a working order (a partial fill, a modification)",
        _I.DONE: "the broker's final answer",
    },
    _I.DONE: {
        _I.DONE: "a later snapshot of a final order with more filled (fills only grow)",
    },
    _I.FAILED: {
        _I.DONE: "the broker turned out to hold it after all, final (late evidence wins)",
        _I.SENT: "the broker turned out to hold it after all, working",
        _I.FAILED: "recorded as failed again (the same refusal seen twice)",
    },
})


# -- the broker order status ---------------------------------------------------------------

_O = OrderStatus
_WORKING = {_O.OPEN, _O.PARTIALLY_FILLED}
_FINAL = {_O.FILLED, _O.CANCELLED, _O.REJECTED}


def _order_moves() -> dict[OrderStatus, dict[OrderStatus, str]]:
    moves: dict[OrderStatus, dict[OrderStatus, str]] = {
        _O.PENDING: {s: "the broker's first answer" for s in _WORKING | _FINAL} | {
            _O.UNKNOWN: "the call's outcome is unknown",
            _O.PENDING: "re-armed or re-fired before any answer",
        },
        _O.UNKNOWN: {s: "found at the broker by its tag" for s in _WORKING | _FINAL} | {
            _O.UNKNOWN: "asked again, still unknown",
            _O.PENDING: "the broker never received it: re-armed",
            _O.REJECTED: "declared not placed",
        },
        _O.OPEN: {s: "the broker moved the working order on" for s in _WORKING | _FINAL},
        _O.PARTIALLY_FILLED: {
            _O.PARTIALLY_FILLED: "another part filled",
            _O.FILLED: "the rest filled",
            _O.CANCELLED: "cancelled (or expired) after a partial fill",
            _O.REJECTED: "refused after a partial fill",
        },
    }
    # A final status moves only on evidence of more fills (an update that arrived out of
    # order, or a refusal recorded before the broker listed the order as filled).
    for final in _FINAL:
        moves[final] = {
            _O.FILLED: "later evidence: it filled",
            _O.PARTIALLY_FILLED: "later evidence: part of it filled",
            final: "the same final status with more filled",
        }
    return moves


ORDER_STATUS: TransitionTable[OrderStatus] = _table(
    "order status", OrderStatus, {_O.PENDING}, _order_moves())


# -- the strategy's runtime position (`runtime:{id}` position) -----------------------------

_R = RuntimePosition
RUNTIME: TransitionTable[RuntimePosition] = _table(
    "strategy runtime", RuntimePosition, {_R.NONE, _R.BOUGHT, _R.SOLD}, {
        _R.NONE: {
            _R.BOUGHT: "its BUY was placed",
        },
        _R.BOUGHT: {
            _R.SOLD: "its exit was placed",
            _R.NONE: "correction: the BUY was refused after the strategy moved on it",
            _R.BOUGHT: "the broker confirmed the BUY the runtime already moved on (a lock "
                       "that lapsed during the call, a lost answer found by its tag)",
        },
        _R.SOLD: {
            _R.BOUGHT: "correction: SQL still holds shares (a refused exit's undo was lost, "
                       "or more of a BUY filled after the exit)",
            _R.NONE: "a new trading day: the strategy may buy again",
            _R.SOLD: "the broker confirmed the exit the runtime already moved on",
        },
    })


# -- the engine ----------------------------------------------------------------------------

class EngineState(StrEnum):
    """Where the engine is in its own life (the status bar shows it)."""

    STARTING = "starting"
    RECONCILING = "reconciling"
    RUNNING = "running"
    ENTRIES_BLOCKED = "entries blocked"
    STOPPING = "stopping"
    STOPPED = "stopped"


_E = EngineState
ENGINE: TransitionTable[EngineState] = _table("engine", EngineState, {_E.STARTING}, {
    _E.STARTING: {
        _E.RECONCILING: "connected: open intents are settled with the broker first",
        _E.STOPPING: "stopped before it got going",
    },
    _E.RECONCILING: {
        _E.RUNNING: "every open intent settled: entries open",
        _E.ENTRIES_BLOCKED: "reconciliation could not finish: exits only",
        _E.STOPPING: "stopped while reconciling",
    },
    _E.RUNNING: {
        _E.ENTRIES_BLOCKED: "the live store, the database or the feed failed",
        _E.RECONCILING: "the live store came back empty: rebuilt and settled again",
        _E.STOPPING: "asked to stop",
    },
    _E.ENTRIES_BLOCKED: {
        _E.RUNNING: "what blocked entries is healthy again",
        _E.RECONCILING: "settling again before entries reopen",
        _E.ENTRIES_BLOCKED: "blocked for another reason",
        _E.STOPPING: "asked to stop",
    },
    _E.STOPPING: {
        _E.STOPPED: "every thread has ended",
    },
    _E.STOPPED: {},
})

# What an older engine process put on the wire before the states were this enum.
_LEGACY_ENGINE_STATES = {"degraded": _E.ENTRIES_BLOCKED}


def engine_state(value: object) -> EngineState:
    """`value` (an enum member, or its text from the wire or a heartbeat) as an EngineState;
    the old "degraded" is ENTRIES_BLOCKED. ValueError for anything else."""
    if isinstance(value, EngineState):
        return value
    text = str(value)
    if text in _LEGACY_ENGINE_STATES:
        return _LEGACY_ENGINE_STATES[text]
    try:
        return EngineState(text)
    except ValueError:
        names = ", ".join(s.value for s in EngineState)
        raise ValueError(f"not an engine state (one of {names})") from None


# -- a user's risk state (the automatic kill switch) ----------------------------------------

class RiskState(StrEnum):
    """Where a user stands against their risk limits today.

    ACTIVE: trading as usual. WARNING: a limit is 80% used; entries still go. REDUCING:
    exits only (a limit is 90% used, or the day's orders are spent). HALTED: the daily loss
    limit or the max drawdown was reached; pending entries are cancelled, positions squared
    off and strategies paused until the next trading day or a manual unlock."""

    ACTIVE = "ACTIVE"
    WARNING = "WARNING"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def takes_entries(self) -> bool:
        return self in (RiskState.ACTIVE, RiskState.WARNING)


class RiskMove(StrEnum):
    """Why a risk state moves: the name every transition is recorded under."""

    ESCALATE = "escalate"  # the day's figures used more of a limit
    RECOVER = "recover"  # the figures fell back under a line, the same day
    NEW_DAY = "new day"  # a new trading day: every limit starts afresh
    UNLOCK = "unlock"  # the trader lifted a halt by typing the confirmation


_K = RiskState
_RISK_ORDER = (_K.ACTIVE, _K.WARNING, _K.REDUCING, _K.HALTED)
RISK_MOVES: Mapping[RiskMove, frozenset[tuple[RiskState, RiskState]]] = MappingProxyType({
    # Up the ladder, skipping rungs when the figures jump.
    RiskMove.ESCALATE: frozenset((a, b) for i, a in enumerate(_RISK_ORDER)
                                 for b in _RISK_ORDER[i + 1:]),
    # Down the ladder within a day, but never out of HALTED: a halt lifts only with a new
    # trading day or an unlock, so a halted user never re-enters by itself.
    RiskMove.RECOVER: frozenset({(_K.WARNING, _K.ACTIVE), (_K.REDUCING, _K.WARNING),
                                 (_K.REDUCING, _K.ACTIVE)}),
    RiskMove.NEW_DAY: frozenset({(_K.WARNING, _K.ACTIVE), (_K.REDUCING, _K.ACTIVE),
                                 (_K.HALTED, _K.ACTIVE)}),
    RiskMove.UNLOCK: frozenset({(_K.HALTED, _K.ACTIVE)}),
})

_RISK_WHY = {
    RiskMove.ESCALATE: "the day's figures used more of a limit",
    RiskMove.RECOVER: "the day's figures fell back under the line",
    RiskMove.NEW_DAY: "a new trading day",
    RiskMove.UNLOCK: "the trader unlocked it with the typed confirmation",
}


def _risk_moves() -> dict[RiskState, dict[RiskState, str]]:
    moves: dict[RiskState, dict[RiskState, str]] = {state: {} for state in RiskState}
    for move, pairs in RISK_MOVES.items():
        for before, after in pairs:
            said = moves[before].get(after)
            moves[before][after] = f"{said}, or {_RISK_WHY[move]}" if said else _RISK_WHY[move]
    return moves


RISK_STATE: TransitionTable[RiskState] = _table("risk state", RiskState, {_K.ACTIVE},
                                                _risk_moves())


def check_risk_move(before: RiskState, after: RiskState, move: RiskMove) -> RiskState:
    """`after`, if `move` may take a user from `before` to it; IllegalTransition otherwise
    (e.g. a RECOVER out of HALTED: only a new day or an unlock lifts a halt)."""
    RISK_STATE.check(before, after)
    if (before, after) not in RISK_MOVES[move]:
        raise IllegalTransition(f"risk state ({move})", before, after)
    return after


TABLES: tuple[TransitionTable, ...] = (INTENT, ORDER_STATUS, RUNTIME, ENGINE, RISK_STATE)

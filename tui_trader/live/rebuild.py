"""Rebuilding live state from the SQL source of truth after Redis came back empty.

Owns the restore order: write every running strategy's keys first, the sentinel last, so an
engine that crashes half-way leaves the sentinel missing and the next start rebuilds again.
Rebuilding is idempotent and safe to race: two engines that both find Redis empty write the
same static config, and runtime hashes are only created where absent, so the engine that
finished first and already traded is never rolled back by the slower one.

The SQL side (someone else's repository) supplies the `(StrategySpec, RuntimeSnapshot)` pairs
of strategies whose status is running, and optionally the users that own them.
"""

from __future__ import annotations

from collections.abc import Iterable

from tui_trader.domain.strategy import RuntimeSnapshot, StrategySpec

from .state import LiveState, LiveUser

__all__ = ["rebuild_from"]


def rebuild_from(
    state: LiveState,
    running: Iterable[tuple[StrategySpec, RuntimeSnapshot]],
    users: Iterable[LiveUser] = (),
) -> int:
    """Restore `strategy:{id}`, `runtime:{id}`, `symbol:{symbol}:strategies`, the running
    index and `user:{id}` (for `users`), then write the sentinel. Returns the number of
    strategies restored. Pipelined: a few round trips for thousands of strategies."""
    count = state.restore(running, users)
    state.mark_alive()
    return count

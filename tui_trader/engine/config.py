"""The engine's policy numbers in one typed place: how long a lock lives, how often the
executor looks for work, how often a refused exit is tried again and how many times, how
late an entry may still go out, how often intents are reconciled and how long an unknown
outcome is given before it is declared not placed.

Wiring (`EmbeddedEngine`) takes one `EngineConfig` and hands it to the parts that need it;
none of them keeps a number of its own. Tests and benchmarks pass their own (a frozen
dataclass: `dataclasses.replace(DEFAULT, ...)`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class EngineConfig:
    # -- the order stream and the strategy lock ------------------------------------------
    # A strategy's lock lapses after this long (a dead process's lock frees itself).
    lock_ttl_ms: int = 30_000
    # An entry another consumer took and has left unacknowledged this long is adopted.
    claim_stale_ms: int = 30_000
    # How often a running executor adopts entries a dead engine left pending.
    adopt_interval_s: float = 30.0
    # How often an idle executor looks at the stream for events published by another
    # process (this process's own events are handed over directly by `submit`).
    poll_ms: int = 50
    # Entries read from the stream (or handed over) per round.
    read_batch: int = 50
    # Entries re-taken at once by a recovery or an adoption.
    recover_batch: int = 1000
    adopt_batch: int = 100
    # A trigger submitted while the loop is idle may be handled on the submitting thread (the
    # ticker's, for a stop-loss) instead of waking the loop's. Off: measured, it did not
    # lower the stop-loss p99, and a tick crossing 100 stops then placed them one by one on
    # the ticker thread (last exit 0.8-2.5 s instead of 0.2-0.4 s in batches).
    fire_on_submitting_thread: bool = False
    # An event held because its strategy is busy is tried again after this long ...
    hold_retry_s: float = 0.05
    # ... and dropped (the trader told) once it is this old.
    hold_max_age_s: float = 60.0
    # The loop's back-off after an unexpected error: doubles from the first to the last.
    error_backoff_s: tuple[float, float] = (0.2, 5.0)
    # -- exits and entries ----------------------------------------------------------------
    # Exits the broker refused (never placed) are retried under the next intent sequence,
    # on the next trigger, this many times a day in all; then the trader is told to act.
    max_exit_attempts: int = 3
    # A refused scheduled exit (SELL at sell_time, EXIT) is tried again after this long; a
    # refused stop-loss is tried again by the next tick through the stop.
    exit_retry_s: float = 20.0
    # A BUY taken later than this after its time (the engine was down) is not placed: the
    # moment it was planned for has passed. Exits are always still worth placing.
    entry_max_age_s: float = 120.0
    # -- reconciling and maintenance ------------------------------------------------------
    # An UNKNOWN intent the broker still does not list after this long was not placed; a
    # FIRING one not listed is re-armed only after it (a slow call may still be on its way).
    unknown_grace: timedelta = timedelta(seconds=60)
    # How often the maintenance pass reconciles, and how old an intent must be to be asked
    # about: asking 4 times a second gains nothing, and each pass is a query competing
    # with the next stop-loss.
    reconcile_every: timedelta = timedelta(seconds=2)
    reconcile_min_age: timedelta = timedelta(seconds=5)
    # How often the latest prices are kept in SQL (and once more at stop).
    remember_prices_every_s: float = 30.0
    maintenance_interval_s: float = 0.25
    # The control channel's blocking read.
    control_block_ms: int = 500
    # Once started, move everything alive to the collector's permanent generation: the
    # objects of a started engine (and the app around it) live for the whole run, and a
    # full collection then walks only what was made since, not pausing a stop-loss for
    # the whole heap.
    gc_freeze_at_start: bool = True
    # How long `stop()` waits for each engine thread.
    thread_join_s: float = 3.0


DEFAULT = EngineConfig()

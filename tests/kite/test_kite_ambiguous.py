"""The ambiguous submit: Kite creates the order but its answer never arrives in time.

KiteBroker must report OutcomeUnknown (never re-send), and the order must be found exactly
once by its tag. Repeated 200 times (five workers at once, as an engine with several
strategies would); the sandbox must end with exactly one order per tag.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tui_trader.brokers.base import OrderRequest, OutcomeUnknown, make_client_tag
from tui_trader.brokers.kite import KiteBroker
from tui_trader.brokers.kite_sandbox import KiteSandbox
from tui_trader.domain.enums import OrderStatus

ROUNDS = 200
WORKERS = 8
CLIENT_TIMEOUT_S = 0.2
# The sandbox holds each answer until the client hangs up; this only bounds the wait.
SERVER_DELAY_S = 30.0
RECONCILE_FOR_S = 5.0


def test_timeout_is_unknown_then_found_once_by_tag(
        make_sandbox: Callable[..., KiteSandbox],
        make_broker: Callable[..., KiteBroker]) -> None:
    sandbox = make_sandbox(tick_interval_s=1.0)
    token = sandbox.issue_access_token()
    placer = make_broker(sandbox, token, timeout=CLIENT_TIMEOUT_S)
    reader = make_broker(sandbox, token, timeout=5)
    sandbox.set_price("INFY", "1520")
    sandbox.timeout_next_orders(ROUNDS, delay_s=SERVER_DELAY_S)
    tags = [make_client_tag(f"event-{i}", "BUY") for i in range(ROUNDS)]

    def one_round(tag: str) -> str:
        request = OrderRequest(client_tag=tag, symbol="INFY", side="BUY", kind="MARKET",
                               quantity=1)
        try:
            placer.place_order(request)
        except OutcomeUnknown as exc:
            assert exc.client_tag == tag
        else:
            return f"{tag}: answered, expected a timeout"
        # The engine's reconciliation: ask by tag (never re-send). A request that timed out
        # before the server read it may show up a moment later, so keep asking a while.
        deadline = time.monotonic() + RECONCILE_FOR_S
        found = reader.orders_by_tag(tag)
        while not found and time.monotonic() < deadline:
            time.sleep(0.05)
            found = reader.orders_by_tag(tag)
        if len(found) != 1:
            return f"{tag}: {len(found)} orders carry the tag"
        if found[0].client_tag != tag or found[0].status is not OrderStatus.FILLED:
            return f"{tag}: found {found[0].client_tag} {found[0].status}"
        return ""

    with ThreadPoolExecutor(WORKERS) as pool:
        problems = [p for p in pool.map(one_round, tags) if p]
    assert problems == []
    per_tag = Counter(r.params.get("tag") for r in sandbox.received_orders)
    assert set(per_tag) == set(tags)
    assert all(count == 1 for count in per_tag.values())
    assert len(reader.orders()) == ROUNDS
    assert placer.requests_sent == ROUNDS  # one POST per order: nothing was re-sent

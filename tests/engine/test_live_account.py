"""A LIVE strategy trades only through its own Kite account: once that account is removed
(the strategy's link is cleared) or switched off, starting it is refused at its field."""

from __future__ import annotations

import pytest

from tui_trader.db.models import BrokerAccount, Strategy
from tui_trader.domain.enums import StrategyStatus
from tui_trader.domain.errors import ValidationError
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.strategies import StrategyService

from .conftest import FORM


@pytest.fixture
def live_strategy(ctx, trader):
    kite = BrokerAccountService(ctx, trader.id).add_kite("kiteapikey1", "kitesecret9",
                                                         "Zerodha")
    spec = StrategyService(ctx, trader.id).create({**FORM, "mode": "LIVE",
                                                   "broker_account_id": str(kite.id)})
    return spec, kite


def test_a_live_strategy_whose_kite_account_was_removed_does_not_start(ctx, trader,
                                                                       live_strategy,
                                                                       harness):
    spec, kite = live_strategy
    BrokerAccountService(ctx, trader.id).remove(kite.id)
    harness.start()
    with pytest.raises(ValidationError) as err:
        harness.engine.start_strategy(trader.id, spec.id)
    assert err.value.field == "broker_account_id"
    assert "Kite account was removed" in err.value.rule
    with ctx.session() as s:
        assert s.get(Strategy, spec.id).status is not StrategyStatus.RUNNING
    assert harness.engine.router.get(spec.id) is None


def test_a_live_strategy_on_a_switched_off_account_does_not_start(ctx, trader,
                                                                  live_strategy, harness):
    spec, kite = live_strategy
    with ctx.session() as s:
        s.get(BrokerAccount, kite.id).is_active = False
    harness.start()
    with pytest.raises(ValidationError, match="'Zerodha' is not an active Zerodha Kite"):
        harness.engine.start_strategy(trader.id, spec.id)


def test_saving_with_an_account_removed_meanwhile_names_the_field(ctx, trader,
                                                                  live_strategy):
    spec, kite = live_strategy
    BrokerAccountService(ctx, trader.id).remove(kite.id)
    with pytest.raises(ValidationError) as err:
        StrategyService(ctx, trader.id).update(spec.id, {
            **FORM, "mode": "LIVE", "broker_account_id": str(kite.id)})
    assert err.value.field == "broker_account_id"

"""Fixtures of the engine tests; the harness itself is `tests/engine_harness.py`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_harness import FORM, Harness, on_paper, resting_stoploss_exit, wait_until

from tui_trader.services.auth import AuthService
from tui_trader.services.brokers import BrokerAccountService
from tui_trader.services.strategies import StrategyService


@pytest.fixture
def trader(ctx):
    user = AuthService(ctx).sign_up("t@example.com", "password-t")
    BrokerAccountService(ctx, user.id).add_paper()
    return user


@pytest.fixture
def strategy(ctx, trader):
    return StrategyService(ctx, trader.id).create(FORM)


@pytest.fixture
def harness(ctx):
    h = Harness(ctx)
    yield h
    h.engine.stop()


__all__ = ["Harness", "FORM", "on_paper", "resting_stoploss_exit", "timedelta", "wait_until"]

"""What each input is called on screen, in one place: every message naming a field uses
this label ("Sell at", never `sell_time`), and the forms label their fields from it."""

from __future__ import annotations

FIELD_LABELS: dict[str, str] = {
    # a strategy
    "name": "Name",
    "symbol": "Symbol",
    "buy_time": "Buy at",
    "sell_time": "Sell at",
    "stop_loss": "Stop-loss",
    "quantity": "Quantity",
    "mode": "Mode",
    "broker_account_id": "Broker",
    "kind": "Kind",
    # signing in
    "email": "Email",
    "password": "Password",
    # a broker account
    "label": "Label",
    "api_key": "API key",
    "api_secret": "API secret",
    "api_root": "API root",
    "request_token": "Redirect",
    # risk rules
    "trading_capital": "Trading capital",
    "daily_loss_limit": "Daily loss limit",
    "daily_loss_pct": "Daily loss %",
    "max_position_value": "Max position value",
    "max_open_positions": "Max open positions",
    "max_drawdown_pct": "Max drawdown %",
    "max_risk_per_trade_pct": "Risk per trade %",
    "max_orders_per_day": "Max orders per day",
    "strategy_daily_loss_limit": "Strategy daily loss",
    "unlock_confirmation": "Unlock confirmation",
}


def label_of(field: str) -> str:
    """The screen's name for `field` (a field no form shows keeps its own name)."""
    return FIELD_LABELS.get(field, field)

"""What things are called on screen, in one place: every message naming a field uses this
label ("Sell at", never `sell_time`), and the forms label their fields from it; every table
and message naming a broker kind uses its name here ("Zerodha Kite", never `kite`)."""

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
    "product": "Product",
    # a strategy kind's parameters (the catalog)
    "timeframe": "Timeframe",
    "fast": "Fast EMA",
    "slow": "Slow EMA",
    "period": "RSI period",
    "oversold": "Oversold",
    "overbought": "Overbought",
    "lookback": "Lookback",
    "volume_factor": "Volume filter",
    "atr_period": "ATR period",
    "multiplier": "ATR multiplier",
    # exits common to every kind
    "stop_mode": "Stop type",
    "target_mode": "Target type",
    "target": "Target",
    "trailing_mode": "Trailing type",
    "trailing": "Trailing stop",
    "square_off": "Square-off at",
    "max_trades_per_day": "Trades a day",
    "reentry": "Re-entry",
    "cooldown_candles": "Cool-down",
    "exit_atr_period": "Exit ATR",  # the exits' ATR period, on a kind with its own
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
    # a notification channel and alert preferences
    "channel_kind": "Channel",
    "webhook_url": "Webhook URL",
    "email_to": "Send to",
    "email_from": "From",
    "smtp_host": "SMTP server",
    "smtp_port": "SMTP port",
    "smtp_mode": "SMTP security",
    "smtp_user": "SMTP user",
    "smtp_password": "SMTP password",
    "bot_token": "Bot token",
    "chat_id": "Chat id",
    "alert_kind": "Alert",
    "alert_mode": "Alert mode",
    # maintenance
    "retention": "Retention",
}


def label_of(field: str) -> str:
    """The screen's name for `field` (a field no form shows keeps its own name)."""
    return FIELD_LABELS.get(field, field)


BROKER_NAMES: dict[str, str] = {"paper": "Paper", "kite": "Zerodha Kite", "angel": "Angel One",
                                "upstox": "Upstox", "icici": "ICICI Direct"}


def broker_name(kind: str) -> str:
    """The screen's name for a broker kind (`BrokerKind` or its value)."""
    return BROKER_NAMES.get(kind, kind)

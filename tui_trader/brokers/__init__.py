"""Brokers: the `Broker` protocol the engine calls, the built-in paper broker, broker adapters
(Kite first) and the market feeds (simulated, replay, broker tickers)."""

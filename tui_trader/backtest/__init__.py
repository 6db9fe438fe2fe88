"""Backtests on the live strategy code: candles replayed through the same strategy kinds,
exits, entry gate and matching core the engine and the paper broker use, with Indian charges
(domain.charges) and the metrics of analytics.metrics. Pure: the candles come in, the trades,
the equity curve and the summary go out; services load candles and store runs."""

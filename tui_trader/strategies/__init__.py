"""Strategy kinds as pure code: closed candles (and ticks, and the time where a kind needs
them) plus each strategy's own serialisable state in, signals out. Also the NSE-session
candle builder, the exits common to every kind, and the router that hands candles to the
running strategies. No I/O: the engine and the backtester both run these."""

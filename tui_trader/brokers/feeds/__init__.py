"""Market feeds: the `Tick`/`Feed` protocol and the simulated and replay feeds that implement it.

A feed delivers batches of ticks from a background thread; each also has a thread-free
`next_batch()`/`generate()` API so tests and benchmarks can drive it deterministically."""

"""Live execution state in Redis (or the embedded in-process store when no URL is set).

- `store`       connect to Redis / the embedded store, and say which one it is
- `keys`        every key name (the seed schema's), documented in `schema/redis-keys.md`
- `scripts`     atomic Lua lock + position transitions (none -> bought -> sold) per strategy
- `order_queue` the `queue:orders` Stream with a consumer group (at-least-once, re-claimable)
- `state`       `LiveState`, the typed facade: strategies, runtime, prices, daily stats,
                user event pub/sub, the freshness sentinel
- `rebuild`     restore every running strategy from SQL into an empty Redis

Redis is volatile; the SQL database is the source of truth. Nothing here imports the UI.
"""

"""A local Kite Connect v3 server: REST API and ticker WebSocket on one port.

Used by the test-suite to prove the Kite adapter against the real `kiteconnect` client, and
by users as an offline practice broker (`tui-trader kite-sandbox`). See
`/work/shared/design/KITE.md` for the protocol facts it implements.
"""

from .auth import checksum, lapse_time
from .config import HoldingSeed, RateLimits, SandboxConfig
from .server import KiteSandbox, serve_forever
from .state import ReceivedOrder

__all__ = [
    "HoldingSeed",
    "KiteSandbox",
    "RateLimits",
    "ReceivedOrder",
    "SandboxConfig",
    "checksum",
    "lapse_time",
    "serve_forever",
]

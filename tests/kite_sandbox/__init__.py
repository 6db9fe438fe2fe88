"""Tests of the local Kite Connect sandbox, driven by the real kiteconnect client."""

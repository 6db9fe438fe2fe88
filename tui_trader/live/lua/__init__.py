"""Lua sources for the live store's atomic scripts (package data, loaded by `live.scripts`)."""

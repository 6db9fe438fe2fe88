"""One module per screen; each screen's styles live in the .tcss file beside it."""

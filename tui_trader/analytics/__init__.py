"""Pure analytics over results: performance metrics from trades and an equity curve.
Imports only the domain; numpy does the arithmetic, Decimal is what goes in and out."""

"""Pure risk code the engine, the backtester and paper trading share: the pre-trade gate
and sizing (`gate`, `sizing`), the account figures they read (`account`), the user's risk
state from those figures (`assessment`, `moves`) and the order-rate governor (`governor`).
Nothing here does I/O or reads a clock: figures and times come in, decisions go out. It
imports the domain only."""

"""The `tui-trader` command: the console by default, plus engine, db, user, keys, market,
catalog, risk, practice and kite-sandbox subcommands. Every failure a user can cause prints
one line, never a traceback. Everything printed goes through `say`, and every log line through
`PrintableFormatter`: both quote text from outside (names, broker replies, arguments), and a
terminal must not act on an escape sequence in it. Heavy modules are imported inside each
command so start-up stays fast."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from .domain.errors import ConfigError, TuiTraderError
from .domain.text import printable

log = logging.getLogger("tui_trader")


def say(text: str, *, error: bool = False) -> None:
    """Print one line (to stderr if `error`), made printable: no escape sequence, no
    control character, no line break of its own."""
    print(printable(text), file=sys.stderr if error else sys.stdout, flush=True)


def _settings():
    from .config import load_settings

    return load_settings()


def _context(settings=None):
    from .services.context import bootstrap

    ctx = bootstrap(settings or _settings())
    for notice in ctx.notices:
        say(f"note: {notice}", error=True)
    return ctx


def cmd_run(args: argparse.Namespace) -> int:
    from .ui.app import run

    return run(_settings())


def cmd_engine(args: argparse.Namespace) -> int:
    """The headless engine for a server; consoles attach to it through Redis."""
    from .domain.calendar import calendar_notice
    from .engine.embedded import EmbeddedEngine
    from .services.live_brokers import make_live_factory

    settings = _settings()
    if args.date is not None or args.speed is not None:
        settings = _on_a_trading_day(settings, args.date, args.speed)
    ctx = _context(settings)
    notice = calendar_notice(ctx.calendar, ctx.clock.now(), ctx.settings.holidays_file)
    if notice:
        print(f"note: {notice}", file=sys.stderr)
    feed, stale_hook = None, None
    if args.feed == "simulated":
        from .brokers.feeds.simulated import SimulatedFeed

        feed = SimulatedFeed(seed=args.seed, clock=ctx.clock)
    elif args.feed == "kite":
        if not args.email:
            raise ConfigError("--email", "the Kite feed needs the user whose Kite session "
                                         "to use")
        from .services.market_data import kite_ticker_feed

        broker_user, account = _kite_account(ctx, args.email, args.account)
        stale_hook = (broker_user, account)
        feed = kite_ticker_feed(ctx, broker_user, account)
    engine = EmbeddedEngine(ctx, feed=feed, live_factory=make_live_factory(ctx))
    if stale_hook is not None:
        from .services.live_feed import follow_new_logins, wire_kite_feed

        wire_kite_feed(engine, feed, *stale_hook)
        follow_new_logins(ctx, engine, feed)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    engine.start()
    clock = ""
    if ctx.settings.clock_start is not None:
        from .domain.clock import IST

        start = ctx.settings.clock_start.astimezone(IST)
        clock = f", simulated clock from {start:%Y-%m-%d %H:%M} IST ×{ctx.settings.clock_speed:g}"
    say(f"engine running (consumer {engine.consumer}, store {ctx.settings.store_label()}, "
        f"feed {args.feed}{clock}); Ctrl-C to stop")
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    engine.stop()
    ctx.close()
    say("engine stopped")
    return 0


def _on_a_trading_day(settings, day: str | None, speed: str | None):
    """The settings with a simulated clock from 09:14 IST of a trading day (the practice
    day's checks and start), `speed` times real time: a trading day on any calendar day."""
    from .config import load_settings
    from .domain.calendar import HolidayFile, NseCalendar
    from .domain.clock import ist_date
    from .domain.practice import plan_practice

    calendar = NseCalendar(HolidayFile.load(settings.holidays_file))
    plan = plan_practice(calendar, day, speed, ist_date(settings.make_clock().now()))
    return load_settings(clock_start=plan.starts_at, clock_speed=plan.speed)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .db import migrate
    from .db.engine import create_db_engine, describe

    settings = _settings()
    engine = create_db_engine(settings.effective_database_url)
    before, after = migrate.upgrade(engine)
    where = describe(engine.url)
    if before == after:
        say(f"{where}: already at revision {after}")
    else:
        say(f"{where}: migrated {before or 'empty'} -> {after}")
    if migrate.timescale_available(engine):
        say("TimescaleDB available: market-data tables are hypertables")
    return 0


PASSWORD_ENV = "TUI_TRADER_USER_PASSWORD"
SANDBOX_SECRET_ENV = "TUI_TRADER_SANDBOX_API_SECRET"
SANDBOX_DEFAULT_SECRET = "sandboxsecret"  # a practice server's, known to everyone


def _refuse_on_command_line(option: str, env: str) -> None:
    """A secret given as an argument is visible to every user (ps) and kept in shell
    history: refused, saying where it may come from instead."""
    raise ConfigError(option, f"a secret on the command line is visible to other users and "
                              f"kept in shell history; type it at the prompt, pipe it on "
                              f"stdin, or set {env}")


def _read_secret(label: str, env: str, *, confirm: bool = False) -> str:
    """A secret from the environment, else typed at a prompt (twice with `confirm`), else
    the first line of stdin when it is not a terminal."""
    import getpass

    value = os.environ.get(env)
    if value is not None:
        return value
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    value = getpass.getpass(f"{label}: ")
    if confirm and getpass.getpass(f"{label} again: ") != value:
        raise ConfigError(label, "the two entries differ; nothing was changed")
    return value


def cmd_user_create(args: argparse.Namespace) -> int:
    from .services.auth import AuthService

    if args.password is not None:
        _refuse_on_command_line("--password", PASSWORD_ENV)
    ctx = _context()
    password = _read_secret("password", PASSWORD_ENV, confirm=True)
    user = AuthService(ctx).sign_up(args.email, password, args.name)
    say(f"created user {user.email}")
    return 0


def cmd_user_unlock(args: argparse.Namespace) -> int:
    """Clear the failed logins and lock of an email address (e.g. a trader locked out)."""
    from .services.auth import AuthService

    address = args.email.strip().lower()
    if AuthService(_context()).unlock(address):
        say(f"{address}: failed logins cleared; it can log in now")
    else:
        say(f"{address}: no failed logins recorded; nothing to clear")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from .services.brokers import rotate_master_key

    ctx = _context()
    report = rotate_master_key(
        ctx, retire_old=not args.keep_old,
        waiting=lambda: say("waiting for a credential write in progress to finish...",
                            error=True))
    say(report.summary())
    return 0 if report.ok else 1


def cmd_kite_sandbox(args: argparse.Namespace) -> int:
    from .brokers.kite_sandbox.config import SandboxConfig
    from .brokers.kite_sandbox.server import serve_forever

    if args.api_secret is not None:
        _refuse_on_command_line("--api-secret", SANDBOX_SECRET_ENV)
    secret = _read_secret("api secret", SANDBOX_SECRET_ENV) if args.ask_secret else \
        os.environ.get(SANDBOX_SECRET_ENV, SANDBOX_DEFAULT_SECRET)
    # The sandbox keeps NSE's hours: on the simulated clock (TUI_TRADER_CLOCK_START) a
    # trading session can be practised at any hour.
    config = SandboxConfig(api_key=args.api_key, api_secret=secret,
                           redirect_url=args.redirect_url, clock=_settings().make_clock())
    serve_forever(config, args.port)
    return 0


def _kite_account(ctx, email: str, label: str | None):
    """(user_id, account_id) of a user's Kite account (by label, else their first)."""
    from .db.repositories import UserRepository
    from .domain.enums import BrokerKind
    from .domain.errors import NotFoundError, ValidationError
    from .services.brokers import BrokerAccountService

    with ctx.session() as s:
        user = UserRepository(s).by_email(email)
        if user is None:
            raise NotFoundError("user", email)
        user_id = user.id
    kite = [a for a in BrokerAccountService(ctx, user_id).list() if a.broker is BrokerKind.KITE]
    if label:
        kite = [a for a in kite if a.label == label]
    if not kite:
        raise ValidationError("account", "no Zerodha Kite account found for this user"
                              + (f" with label '{label}'" if label else ""))
    return user_id, kite[0].id


def _kite_broker(ctx, email: str, label: str | None):
    from .services.live_brokers import make_live_factory

    return make_live_factory(ctx)(*_kite_account(ctx, email, label))


def cmd_market_instruments(args: argparse.Namespace) -> int:
    from .services.market_data import download_instruments

    ctx = _context()
    count = download_instruments(ctx, _kite_broker(ctx, args.email, args.account))
    say(f"stored {int(count)} instruments")
    return 0


def cmd_market_candles(args: argparse.Namespace) -> int:
    from datetime import datetime, time

    from .domain.clock import IST
    from .domain.errors import ValidationError
    from .services.market_data import store_candles

    def day(text: str, field: str, end: bool) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError(field, "must be a date like 2026-11-20") from None
        if value.tzinfo is None:
            value = datetime.combine(value.date(), time(23, 59, 59) if end and len(text) == 10
                                     else value.time(), tzinfo=IST)
        return value

    ctx = _context()
    broker = _kite_broker(ctx, args.email, args.account)
    count = store_candles(ctx, broker, args.symbol, day(args.from_, "--from", False),
                          day(args.to, "--to", True), args.interval)
    say(f"stored {count} candles for {args.symbol}")
    return 0


SHOWN_ROW_ERRORS = 100  # a wholly wrong file must not bury the summary line


def cmd_market_import_csv(args: argparse.Namespace) -> int:
    """Candles from a CSV file into the database: all of them, or (any bad row) none."""
    from .domain.candle_csv import CandleCsvError
    from .services.candle_import import load_candle_file, store_candle_file

    try:  # checked before the database is opened: a bad file changes nothing at all
        checked = load_candle_file(args.file, args.symbol, args.interval, args.exchange)
    except CandleCsvError as exc:
        for error in exc.errors[:SHOWN_ROW_ERRORS]:
            say(str(error), error=True)
        if len(exc.errors) > SHOWN_ROW_ERRORS:
            say(f"... and {len(exc.errors) - SHOWN_ROW_ERRORS} more", error=True)
        bad = len({error.line for error in exc.errors})
        say(f"tui-trader: {args.file}: {bad} bad row{'s' if bad != 1 else ''}; "
            "nothing imported", error=True)
        return 2
    say(store_candle_file(_context(), checked).summary())
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    """The strategy kinds a user can run: a table, or with --json one JSON list (the last
    line of stdout) for tools and scripts."""
    import json

    from .services.catalog import catalog_json, catalog_table

    if args.json:
        say(json.dumps(catalog_json(), sort_keys=True))
    else:
        for line in catalog_table():
            say(line)
    return 0


def _user_id(ctx, email: str):
    """The id of the user with this email address (NotFoundError if there is none)."""
    from .db.repositories import UserRepository
    from .domain.errors import NotFoundError

    with ctx.session() as s:
        user = UserRepository(s).by_email(email.strip().lower())
        if user is None:
            raise NotFoundError("user", email)
        return user.id


def cmd_risk_show(args: argparse.Namespace) -> int:
    """A user's risk rules and today's risk state; `--json`: one JSON object."""
    import json

    from .domain.clock import IST
    from .domain.labels import label_of
    from .domain.lifecycle import RiskState
    from .domain.risk_rules import describe_rule
    from .services.risk import RiskService

    ctx = _context()
    today = RiskService(ctx, _user_id(ctx, args.email)).today()
    if args.json:
        say(json.dumps({"email": args.email.strip().lower(), **today.as_dict()}))
        return 0
    say(f"risk rules of {args.email.strip().lower()}:")
    for field, value in today.limits.as_dict().items():
        say(f"  {label_of(field)}: {describe_rule(field, value)}")
    line = f"today {today.day:%a %d %b %Y}: {today.state}"
    status = today.status
    if status is not None and status.state is today.state is not RiskState.ACTIVE:
        line += f" since {status.since.astimezone(IST):%H:%M} IST"
        if status.reason:
            line += f" ({status.reason})"
    if today.halted_until is not None:
        line += f"; lifts on {today.halted_until:%a %d %b}"
    say(line)
    say(f"entries denied today: {today.denials}")
    return 0


def cmd_risk_set(args: argparse.Namespace) -> int:
    """Change the rules given as flags; the rest stay. All or nothing."""
    from .domain.errors import ValidationError
    from .domain.labels import label_of
    from .domain.risk_rules import RULE_FIELDS, describe_rule
    from .services.risk import RiskService

    changes = {field: getattr(args, field) for field in RULE_FIELDS
               if getattr(args, field) is not None}
    if not changes:
        raise ValidationError("rules", "give at least one rule to change, e.g. "
                                       "--daily-loss-limit 5000 (or 'off' to remove one)")
    ctx = _context()
    limits = RiskService(ctx, _user_id(ctx, args.email)).set(changes)
    said = "; ".join(f"{label_of(f)} {describe_rule(f, getattr(limits, f))}" for f in changes)
    say(f"risk rules of {args.email.strip().lower()} saved: {said}")
    return 0


def cmd_practice(args: argparse.Namespace) -> int:
    """A practice day: headless (progress on stderr, with --json one JSON object as the last
    line of stdout), or in the console."""
    import json

    from .domain.calendar import HolidayFile, NseCalendar
    from .domain.clock import ist_date
    from .domain.practice import plan_practice

    settings = _settings()
    # Checked before anything is created: bad input writes nothing.
    calendar = NseCalendar(HolidayFile.load(settings.holidays_file))
    plan = plan_practice(calendar, args.date, args.speed,
                         ist_date(settings.make_clock().now()))
    if not args.headless:
        from .ui.app import run

        return run(settings, practice=plan)
    from .services.practice import DEFAULT_SEED, open_practice_day, run_headless

    def progress(text: str) -> None:
        say(text, error=True)

    day = open_practice_day(settings, plan, say=progress,
                            seed=DEFAULT_SEED if args.seed is None else args.seed)
    result = run_headless(day, say=progress)
    progress(f"{plan.label()} over: {len(result.orders)} orders, net P&L {result.net_pnl}")
    if args.json:
        say(json.dumps(result.as_dict()))
    else:
        for order in result.orders:
            say(order.describe())
        say(f"net P&L {result.net_pnl}")
    return 0


def _group(sub, name: str, help_text: str, dest: str):
    """A command made of subcommands (`db upgrade`): on its own it prints its usage and
    fails, instead of falling through to the console."""
    group = sub.add_parser(name, help=help_text)

    def usage(_args: argparse.Namespace) -> int:
        group.print_help(sys.stderr)
        return 2

    group.set_defaults(func=usage)
    return group.add_subparsers(dest=dest, title="commands")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="tui-trader", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log to stderr")
    parser.add_argument("--version", action="version", version=f"tui-trader {__version__}")
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="the console (default)")
    run.set_defaults(func=cmd_run)

    engine = sub.add_parser("engine", help="run the engine headless (on a server)")
    engine.add_argument("--feed", choices=["simulated", "kite", "none"], default="simulated",
                        help="market data: a simulated NSE feed, or Kite's ticker")
    engine.add_argument("--email", help="with --feed kite: the user whose Kite session to use")
    engine.add_argument("--account", help="with --feed kite: the Kite account's label")
    engine.add_argument("--seed", type=int, default=1)
    engine.add_argument("--date", help="run on a simulated clock from 09:14 IST of this "
                        "trading day (as TUI_TRADER_CLOCK_START; only paper strategies trade)")
    engine.add_argument("--speed", help="with --date: times real time, 1 to 1000 (default 60)")
    engine.set_defaults(func=cmd_engine)

    db = _group(sub, "db", "database schema", "db_command")
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    user = _group(sub, "user", "accounts", "user_command")
    create = user.add_parser("create", help="create a user")
    create.add_argument("email")
    create.add_argument("--name")
    create.add_argument("--password", help=argparse.SUPPRESS)  # refused: see --help text
    create.description = (f"The password is typed at a prompt, read from stdin when it is "
                          f"not a terminal, or taken from {PASSWORD_ENV}.")
    create.set_defaults(func=cmd_user_create)
    unlock = user.add_parser("unlock", help="clear an email's failed logins and lock")
    unlock.add_argument("email")
    unlock.set_defaults(func=cmd_user_unlock)

    keys = _group(sub, "keys", "the credential master key", "keys_command")
    rotate = keys.add_parser("rotate", help="re-encrypt every credential under a new key")
    rotate.add_argument("--keep-old", action="store_true", help="do not retire old keys")
    rotate.set_defaults(func=cmd_keys_rotate)

    sandbox = sub.add_parser("kite-sandbox", help="a local Kite Connect server to practise on")
    sandbox.add_argument("--port", type=int, default=5010)
    sandbox.add_argument("--api-key", default="sandboxkey")
    sandbox.add_argument("--api-secret", help=argparse.SUPPRESS)  # refused: see below
    sandbox.add_argument("--ask-secret", action="store_true",
                         help=f"type the API secret at a prompt (or pipe it on stdin); "
                              f"otherwise {SANDBOX_SECRET_ENV}, else "
                              f"'{SANDBOX_DEFAULT_SECRET}'")
    sandbox.add_argument("--redirect-url", default="http://127.0.0.1/kite-redirect")
    sandbox.set_defaults(func=cmd_kite_sandbox)

    market = _group(sub, "market", "market data: from a broker, or a CSV file",
                    "market_command")
    inst = market.add_parser("instruments", help="download the instruments master")
    inst.add_argument("--email", required=True, help="the user whose Kite account to use")
    inst.add_argument("--account", help="broker account label (default: the first Kite one)")
    inst.set_defaults(func=cmd_market_instruments)
    candles = market.add_parser("candles", help="store historical candles")
    candles.add_argument("symbol")
    candles.add_argument("--from", dest="from_", required=True)
    candles.add_argument("--to", required=True)
    candles.add_argument("--interval", default="day")
    candles.add_argument("--email", required=True)
    candles.add_argument("--account")
    candles.set_defaults(func=cmd_market_candles)
    from_csv = market.add_parser("import-csv", help="store candles from a CSV file "
                                 "(date,open,high,low,close,volume; times with offset)")
    from_csv.add_argument("file")
    from_csv.add_argument("--symbol", required=True)
    from_csv.add_argument("--interval", required=True, help="1minute, 5minute, 15minute, "
                          "... or day (every NSE session timeframe)")
    from_csv.add_argument("--exchange", default="NSE")
    from_csv.set_defaults(func=cmd_market_import_csv)

    catalog = sub.add_parser("catalog", help="the strategy kinds and their parameters")
    catalog.add_argument("--json", action="store_true",
                         help="one JSON list: kind, description, parameters (JSON Schema)")
    catalog.set_defaults(func=cmd_catalog)

    practice = sub.add_parser("practice", help="replay a trading day through the engine on "
                              "a fast simulated clock, apart from your real book")
    practice.add_argument("--date", help="the trading day (YYYY-MM-DD; default: the last "
                          "trading day before today)")
    practice.add_argument("--speed", help="times real time, 1 to 1000 (default 60: a "
                          "market minute a second)")
    practice.add_argument("--demo", action="store_true", help="practise the demo's practice "
                          "pair (what a headless practice day trades; the console takes "
                          "your own strategies)")
    practice.add_argument("--headless", action="store_true", help="no console: progress on "
                          "stderr, the orders and net P&L at the end")
    practice.add_argument("--json", action="store_true", help="with --headless: one JSON "
                          "object (orders, net_pnl) as the last line of stdout")
    practice.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # another market
    practice.set_defaults(func=cmd_practice)

    risk = _group(sub, "risk", "a user's risk rules and risk state", "risk_command")
    show = risk.add_parser("show", help="the rules and today's risk state")
    show.add_argument("--email", required=True)
    show.add_argument("--json", action="store_true", help="one JSON object")
    show.set_defaults(func=cmd_risk_show)
    change = risk.add_parser("set", help="change rules (the others stay); 'off' removes one")
    change.add_argument("--email", required=True)
    for field, text in RISK_FLAGS.items():
        change.add_argument("--" + field.replace("_", "-"), dest=field, metavar="VALUE",
                            help=text)
    change.set_defaults(func=cmd_risk_set)
    return parser


RISK_FLAGS = {
    "trading_capital": "₹ the percentages are of (unset: the broker's available margin)",
    "daily_loss_limit": "₹ the day may lose before trading halts",
    "daily_loss_pct": "the same as %% of capital (the smaller of the two applies)",
    "max_position_value": "₹ one symbol's position may be worth",
    "max_open_positions": "positions open at once",
    "max_drawdown_pct": "%% equity may fall from the day's peak before trading halts",
    "max_risk_per_trade_pct": "%% of capital one entry may lose at its stop",
    "max_orders_per_day": "orders a day (exits are never refused)",
    "strategy_daily_loss_limit": "₹ one strategy may lose in a day",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .security.logformat import PrintableFormatter
    from .security.redaction import install_redaction

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter())
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        handlers=[handler])

    install_redaction()
    func: Callable[[argparse.Namespace], int] = getattr(args, "func", None) or cmd_run
    try:
        return func(args)
    except TuiTraderError as exc:
        say(f"tui-trader: {exc}", error=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except ImportError as exc:
        say(f"tui-trader: this command is not available in this build ({exc.name})",
            error=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())

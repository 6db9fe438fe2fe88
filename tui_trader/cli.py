"""The `tui-trader` command: the console by default, plus engine, db, user, keys, market and
kite-sandbox subcommands. Every failure a user can cause prints one line, never a traceback.
Heavy modules are imported inside each command so start-up stays fast."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from .domain.errors import ConfigError, TuiTraderError

log = logging.getLogger("tui_trader")


def _settings():
    from .config import load_settings

    return load_settings()


def _context():
    from .services.context import bootstrap

    ctx = bootstrap(_settings())
    for notice in ctx.notices:
        print(f"note: {notice}", file=sys.stderr)
    return ctx


def cmd_run(args: argparse.Namespace) -> int:
    from .ui.app import run

    return run(_settings())


def cmd_engine(args: argparse.Namespace) -> int:
    """The headless engine for a server; consoles attach to it through Redis."""
    from .engine.embedded import EmbeddedEngine
    from .services.live_brokers import make_live_factory

    ctx = _context()
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
    print(f"engine running (consumer {engine.consumer}, store {ctx.settings.store_label()}, "
          f"feed {args.feed}); Ctrl-C to stop", flush=True)
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    engine.stop()
    ctx.close()
    print("engine stopped")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from .db import migrate
    from .db.engine import create_db_engine, describe

    settings = _settings()
    engine = create_db_engine(settings.effective_database_url)
    before, after = migrate.upgrade(engine)
    where = describe(engine.url)
    if before == after:
        print(f"{where}: already at revision {after}")
    else:
        print(f"{where}: migrated {before or 'empty'} -> {after}")
    if migrate.timescale_available(engine):
        print("TimescaleDB available: market-data tables are hypertables")
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    import getpass

    from .services.auth import AuthService

    ctx = _context()
    password = args.password or getpass.getpass("password: ")
    user = AuthService(ctx).sign_up(args.email, password, args.name)
    print(f"created user {user.email}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from .services.brokers import rotate_master_key

    ctx = _context()
    report = rotate_master_key(ctx, retire_old=not args.keep_old)
    print(report.summary())
    return 0 if report.ok else 1


def cmd_kite_sandbox(args: argparse.Namespace) -> int:
    from .brokers.kite_sandbox.config import SandboxConfig
    from .brokers.kite_sandbox.server import serve_forever

    config = SandboxConfig(api_key=args.api_key, api_secret=args.api_secret,
                           redirect_url=args.redirect_url)
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
    print(f"stored {int(count)} instruments")
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
    print(f"stored {count} candles for {args.symbol}")
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
    engine.set_defaults(func=cmd_engine)

    db = _group(sub, "db", "database schema", "db_command")
    db.add_parser("upgrade", help="apply migrations").set_defaults(func=cmd_db_upgrade)

    user = _group(sub, "user", "accounts", "user_command")
    create = user.add_parser("create", help="create a user")
    create.add_argument("email")
    create.add_argument("--name")
    create.add_argument("--password", help="omit to be prompted")
    create.set_defaults(func=cmd_user_create)

    keys = _group(sub, "keys", "the credential master key", "keys_command")
    rotate = keys.add_parser("rotate", help="re-encrypt every credential under a new key")
    rotate.add_argument("--keep-old", action="store_true", help="do not retire old keys")
    rotate.set_defaults(func=cmd_keys_rotate)

    sandbox = sub.add_parser("kite-sandbox", help="a local Kite Connect server to practise on")
    sandbox.add_argument("--port", type=int, default=5010)
    sandbox.add_argument("--api-key", default="sandboxkey")
    sandbox.add_argument("--api-secret", default="sandboxsecret")
    sandbox.add_argument("--redirect-url", default="http://127.0.0.1/kite-redirect")
    sandbox.set_defaults(func=cmd_kite_sandbox)

    market = _group(sub, "market", "market data from a broker", "market_command")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    from .security.redaction import install_redaction

    install_redaction()
    func: Callable[[argparse.Namespace], int] = getattr(args, "func", None) or cmd_run
    try:
        return func(args)
    except TuiTraderError as exc:
        print(f"tui-trader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except ImportError as exc:
        print(f"tui-trader: this command is not available in this build ({exc.name})",
              file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

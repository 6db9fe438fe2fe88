"""The `tui-trader` command: the console by default, plus engine, db, user, keys, market,
catalog, risk, notify, maintenance, practice and kite-sandbox subcommands. Every failure a
user can cause prints one line, never a traceback. Everything printed goes through `say`, and
every log line through `PrintableFormatter`: both quote text from outside (names, broker
replies, arguments), and a terminal must not act on an escape sequence in it. Heavy modules
are imported inside each command so start-up stays fast."""

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
    from .services.background import BackgroundJobs

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    jobs = BackgroundJobs(ctx).start()  # system log, alerts out, the daily prune
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
    jobs.stop()
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


def _day(text: str, field: str, end: bool):
    """A --from/--to argument: a date (IST; --to means the end of that day) or an ISO
    time."""
    from datetime import datetime, time

    from .domain.clock import IST
    from .domain.errors import ValidationError

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, "must be a date like 2026-11-20") from None
    if value.tzinfo is None:
        value = datetime.combine(value.date(), time(23, 59, 59) if end and len(text) == 10
                                 else value.time(), tzinfo=IST)
    return value


def cmd_market_candles(args: argparse.Namespace) -> int:
    from .domain.candle_chunks import download_interval, plan_chunks
    from .services.market_data import store_candles

    start, end = _day(args.from_, "--from", False), _day(args.to, "--to", True)
    plan_chunks(start, end, download_interval(args.interval))  # bad input: before any I/O
    ctx = _context()
    broker = _kite_broker(ctx, args.email, args.account)
    progress = _ChunkProgress(sys.stderr)
    try:
        count = store_candles(ctx, broker, args.symbol, start, end, args.interval,
                              progress=progress)
    finally:
        progress.finish()
    say(f"stored {count} candles for {args.symbol}")
    return 0


class _ChunkProgress:
    """A progress bar on `stream` for a chunked candle download (a plain line per chunk
    when it is not a terminal); `finish()` ends a bar a failure cut short, so the error
    line that follows starts on a line of its own."""

    def __init__(self, stream) -> None:
        self.stream, self.tty, self.open_line = stream, stream.isatty(), False

    def __call__(self, done) -> None:
        step = done.index + 1
        note = " (already stored)" if done.skipped else ""
        line = f"chunk {step} of {done.total}, {done.candles:,} candles{note}"
        if self.tty:
            filled = round(20 * step / done.total)
            self.open_line = step < done.total
            end = "" if self.open_line else "\n"
            self.stream.write(f"\r[{'#' * filled}{'.' * (20 - filled)}] {line:<60}{end}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False


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


def cmd_backtest(args: argparse.Namespace) -> int:
    """One strategy over stored or CSV candles: progress on stderr, a summary (or with
    --json one JSON object, the last line of stdout); --email stores the run."""
    import json

    from .domain.candle_csv import CandleCsvError
    from .domain.clock import utc_now
    from .domain.errors import ValidationError
    from .services import backtests

    spec = backtests.run_spec(args)
    grid = backtests.grid_of(args)  # a grid too large is refused before anything is read
    if args.csv and (args.from_ or args.to):
        raise ValidationError("csv", "give either --csv or --from/--to (stored candles)")
    ctx = None
    if args.csv:
        try:
            bars = backtests.csv_bars(args.csv, args.symbol, args.interval, args.exchange)
        except CandleCsvError as exc:  # one line: the first bad row, and how many
            bad = len({error.line for error in exc.errors})
            say(f"tui-trader: {args.csv}: {exc.errors[0]} ({bad} bad "
                f"row{'s' if bad != 1 else ''}; nothing run)", error=True)
            return 2
    else:
        if not (args.from_ and args.to):
            raise ValidationError("csv", "give a CSV file (--csv) or the range of stored "
                                         "candles (--from and --to)")
        ctx = _context()
        bars = backtests.stored_bars(ctx, args.symbol, args.interval,
                                     _day(args.from_, "--from", False),
                                     _day(args.to, "--to", True), args.exchange)
    if grid is not None:
        return _backtest_grid(args, spec, bars, grid)
    user_id = None
    if args.email:
        ctx = ctx or _context()
        user_id = _user_id(ctx, args.email)
    if ctx is not None:
        spec = backtests.with_instrument(ctx, spec, bars.symbol, args)
    started = utc_now()
    shown = [-1]

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"backtest: {tenth * 10}% ({done:,} of {total:,} candles)",
                  file=sys.stderr, flush=True)

    backtest, result = backtests.run(spec, bars, progress=progress)
    out = result.to_json()
    if user_id is not None:
        out["run_id"] = str(backtests.store_run(ctx, user_id, backtest, result, started))
        print(f"backtest: stored as run {out['run_id']}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(out, sort_keys=True), flush=True)
    else:
        for line in backtests.summary_lines(result):
            say(line)
        if "run_id" in out:
            say(f"stored as run {out['run_id']}")
    return 0


def _backtest_grid(args: argparse.Namespace, spec, bars, grid) -> int:
    """A parameter grid (or a walk-forward over it): a table and, for two parameters, a
    heatmap; --json: one JSON object."""
    import json

    from .backtest.sweep import run_grid, walk_forward
    from .services import backtests

    def progress(done: int, total: int) -> None:
        if done == total or done % max(1, total // 10) == 0:
            print(f"backtest: {done:,} of {total:,} combinations", file=sys.stderr,
                  flush=True)

    if args.walk_forward:
        result = walk_forward(spec, bars, grid, windows=args.walk_forward,
                              in_sample=args.in_sample, rank=args.rank,
                              processes=args.processes)
        if args.json:
            print(json.dumps(backtests.walk_forward_json(result), sort_keys=True), flush=True)
        else:
            for line in backtests.walk_forward_lines(result, bars):
                say(line)
        return 0
    found = run_grid(spec, bars, grid, processes=args.processes, progress=progress)
    if args.json:
        print(json.dumps(backtests.grid_json(found, args.rank), sort_keys=True), flush=True)
    else:
        for line in backtests.grid_lines(found, args.rank, args.top):
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


NOTIFY_SECRET_ENV = "TUI_TRADER_NOTIFY_SECRET"
_NOTIFY_SECRET_LABEL = {"webhook": "webhook URL", "email": "SMTP password",
                        "telegram": "bot token"}


def cmd_notify_add(args: argparse.Namespace) -> int:
    """Add a channel; its secret (the webhook URL, SMTP password or bot token) comes from
    TUI_TRADER_NOTIFY_SECRET, a prompt or stdin, never the command line. A test message
    must reach it first, else nothing is saved."""
    from .services.notify_channels import (
        NotificationSettings,
        email_config,
        parse_channel_kind,
        telegram_config,
        webhook_config,
    )

    for option in ("url", "password", "bot_token"):
        if getattr(args, option) is not None:
            _refuse_on_command_line("--" + option.replace("_", "-"), NOTIFY_SECRET_ENV)
    kind = parse_channel_kind(args.kind)
    name = args.kind.strip().lower()
    if kind.value == "EMAIL" and not args.smtp_user:
        secret = ""  # no SMTP login: no password to read
    else:
        secret = _read_secret(_NOTIFY_SECRET_LABEL[name], NOTIFY_SECRET_ENV)
    if kind.value == "WEBHOOK":
        config, hint = webhook_config(secret)
    elif kind.value == "EMAIL":
        config, hint = email_config(args.to, args.smtp_host, args.smtp_port, args.smtp_mode,
                                    args.smtp_user, secret, args.sender)
    else:
        config, hint = telegram_config(args.chat_id, secret)
    ctx = _context()
    view = NotificationSettings(ctx, _user_id(ctx, args.email)).add(
        kind, args.label, config, hint, test=not args.no_test)
    say(f"channel '{view.label}' saved ({hint})"
        + ("; a test message was delivered" if not args.no_test else ""))
    return 0


def cmd_notify_list(args: argparse.Namespace) -> int:
    import json

    from .domain.alerts import ALERT_LABELS
    from .services.notify_channels import NotificationSettings

    ctx = _context()
    settings = NotificationSettings(ctx, _user_id(ctx, args.email))
    channels, prefs = settings.list(), settings.preferences()
    if args.json:
        say(json.dumps({"channels": [
            {"label": c.label, "kind": c.kind.value.lower(), "hint": c.hint, "state": c.state,
             "failures": c.failures, "last_error": c.last_error} for c in channels],
            "preferences": {k.value.lower(): m.value.lower() for k, m in prefs.items()}}))
        return 0
    if not channels:
        say("no channels: alerts are shown in the console only (tui-trader notify add)")
    for c in channels:
        line = f"  {c.label}: {c.kind.value.lower()}, {c.hint}, {c.state}"
        if c.failures:
            line += f" ({c.failures} failed: {c.last_error})"
        say(line)
    say("alerts: " + ", ".join(f"{ALERT_LABELS[k]} {m.value.lower()}" for k, m in prefs.items()))
    return 0


def cmd_notify_test(args: argparse.Namespace) -> int:
    from .services.notify_channels import NotificationSettings

    ctx = _context()
    results = NotificationSettings(ctx, _user_id(ctx, args.email)).test(args.label)
    if not results:
        say("no channels to test (tui-trader notify add)")
        return 1
    for label, problem in results:
        say(f"  {label}: " + ("delivered" if problem is None else f"failed ({problem})"))
    return 0 if all(problem is None for _label, problem in results) else 1


def cmd_notify_remove(args: argparse.Namespace) -> int:
    from .services.notify_channels import NotificationSettings

    ctx = _context()
    NotificationSettings(ctx, _user_id(ctx, args.email)).remove(args.label)
    say(f"channel '{args.label}' removed")
    return 0


def cmd_notify_set(args: argparse.Namespace) -> int:
    """Set alert modes (on, silent, off) per kind; all or nothing."""
    from .domain.alerts import ALERT_LABELS, AlertKind, parse_mode
    from .domain.errors import ValidationError
    from .services.notify_channels import NotificationSettings

    changes = {kind: parse_mode(kind.value.lower().replace("_", "-"),
                                getattr(args, kind.value.lower()))
               for kind in AlertKind if getattr(args, kind.value.lower()) is not None}
    if not changes:
        raise ValidationError("alert_kind", "give at least one, e.g. --fill silent")
    ctx = _context()
    NotificationSettings(ctx, _user_id(ctx, args.email)).set_preferences(changes)
    say("saved: " + ", ".join(f"{ALERT_LABELS[k]} {m.value.lower()}"
                              for k, m in changes.items()))
    return 0


def cmd_maintenance_prune(args: argparse.Namespace) -> int:
    """Delete what is older than the retention settings keep (or, --dry-run, count it)."""
    from .services.maintenance import prune

    report = prune(_context(), dry_run=args.dry_run)
    say(report.summary())
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    """The newest warnings and errors kept in system_logs, or the audit trail."""
    from .domain.clock import IST
    from .domain.enums import Severity

    ctx = _context()
    if args.audit:
        from .services.audit import audit_trail

        for e in audit_trail(ctx, limit=args.limit):
            say(f"{e.created_at.astimezone(IST):%Y-%m-%d %H:%M:%S} {e.action.value} "
                f"{e.outcome.value} {e.subject}")
        return 0
    from .services.system_log import system_logs

    try:
        level = Severity((args.level or "WARNING").upper())
    except ValueError:
        from .domain.errors import ValidationError

        raise ValidationError("level", "must be warning, error or critical") from None
    for row in system_logs(ctx, level=level, component=args.component or "",
                           limit=args.limit):
        say(f"{row.created_at.astimezone(IST):%Y-%m-%d %H:%M:%S} {row.level.value} "
            f"[{row.component}] {row.message}")
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

    backtest = sub.add_parser("backtest", help="replay candles through a strategy kind")
    backtest.add_argument("kind", help="a kind from `tui-trader catalog`")
    backtest.add_argument("--csv", help="candles from this CSV file "
                          "(date,open,high,low,close,volume; times with offset)")
    backtest.add_argument("--from", dest="from_", help="stored candles from (date or time)")
    backtest.add_argument("--to", help="stored candles to (date or time)")
    backtest.add_argument("--symbol", required=True)
    backtest.add_argument("--exchange", default="NSE")
    backtest.add_argument("--interval", required=True, help="1minute, 5minute, ... or day")
    backtest.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                          help="a parameter of the kind (repeat)")
    backtest.add_argument("--quantity", type=int, default=1, help="shares; lots for F&O")
    backtest.add_argument("--product", default="CNC", help="CNC, MIS or NRML")
    backtest.add_argument("--instrument-type", help="EQ, FUT, CE or PE (default: the "
                          "instruments master's, else EQ)")
    backtest.add_argument("--lot-size", type=int, help="default: the instruments master's, "
                          "else 1")
    for level, text in (("stop", "stop-loss"), ("target", "target"),
                        ("trailing", "trailing stop")):
        backtest.add_argument(f"--{level}-pct", metavar="PCT",
                              help=f"{text} as %% of the entry price")
        backtest.add_argument(f"--{level}-atr", metavar="ATRS",
                              help=f"{text} as a multiple of the ATR at entry")
    backtest.add_argument("--stop-price", help="stop-loss at this price")
    backtest.add_argument("--square-off", help="MIS time exit HH:MM IST ('off': none)")
    backtest.add_argument("--max-trades-per-day", help="cap entries a day (default: none)")
    backtest.add_argument("--fill", default="next-open", choices=["next-open", "close"],
                          help="market orders at the next candle's open or the signal "
                               "candle's close")
    backtest.add_argument("--slippage-ticks", type=int, default=0)
    backtest.add_argument("--tick", help="the tick size (default: the instruments "
                          "master's, else 0.05)")
    backtest.add_argument("--no-charges", action="store_true",
                          help="leave out brokerage, taxes and fees")
    backtest.add_argument("--capital", default="100000", help="starting equity, rupees")
    backtest.add_argument("--long-only", action="store_true", help="take no short entries")
    backtest.add_argument("--grid", action="append", default=[],
                          metavar="NAME=FROM:TO:STEP",
                          help="sweep a parameter (repeat; or NAME=A,B,C); at most 100,000 "
                               "combinations")
    backtest.add_argument("--processes", type=int, help="grid workers (default: every core)")
    backtest.add_argument("--rank", default="net_pnl", help="what ranks a grid: net_pnl, "
                          "sharpe, profit_factor, expectancy, win_rate or calmar")
    backtest.add_argument("--top", type=int, default=20, help="grid rows shown")
    backtest.add_argument("--walk-forward", type=int, metavar="WINDOWS",
                          help="with --grid: fit in sample, test out of sample, per window")
    backtest.add_argument("--in-sample", type=float, default=0.7,
                          help="the in-sample fraction of each window's days")
    backtest.add_argument("--email", help="store the run for this user (backtest_runs)")
    backtest.add_argument("--json", action="store_true",
                          help="one JSON object (trades, summary), the last line of stdout")
    backtest.set_defaults(func=cmd_backtest)

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
    notify = _group(sub, "notify", "alerts to Telegram, e-mail or a webhook", "notify_command")
    add = notify.add_parser("add", help="add a channel (test-delivered before it is saved)")
    add.add_argument("--email", required=True, help="the user whose alerts to send")
    add.add_argument("--kind", required=True, help="webhook, email or telegram")
    add.add_argument("--label", help="what to call it (default: its kind)")
    add.add_argument("--url-stdin", action="store_true",
                     help="the webhook URL, SMTP password or bot token is read from stdin "
                          f"(also the default when stdin is not a terminal; or set "
                          f"{NOTIFY_SECRET_ENV})")
    add.add_argument("--to", help="email: the address alerts go to")
    add.add_argument("--sender", help="email: the From address (default: the SMTP user)")
    add.add_argument("--smtp-host", help="email: the SMTP server")
    add.add_argument("--smtp-port", help="email: its port (default by --smtp-mode)")
    add.add_argument("--smtp-mode", default="starttls", help="starttls, ssl or insecure")
    add.add_argument("--smtp-user", help="email: the SMTP login (its password is read like "
                                         "the other secrets)")
    add.add_argument("--chat-id", help="telegram: the chat to post to")
    add.add_argument("--no-test", action="store_true", help="save without a test message")
    for secret in ("--url", "--password", "--bot-token"):
        add.add_argument(secret, help=argparse.SUPPRESS)  # refused: secrets stay off argv
    add.set_defaults(func=cmd_notify_add)
    listing = notify.add_parser("list", help="channels, their state, and the alert modes")
    listing.add_argument("--email", required=True)
    listing.add_argument("--json", action="store_true", help="one JSON object")
    listing.set_defaults(func=cmd_notify_list)
    test = notify.add_parser("test", help="send a test message now")
    test.add_argument("--email", required=True)
    test.add_argument("--label", help="one channel (default: every one)")
    test.set_defaults(func=cmd_notify_test)
    remove = notify.add_parser("remove", help="remove a channel")
    remove.add_argument("--email", required=True)
    remove.add_argument("--label", required=True)
    remove.set_defaults(func=cmd_notify_remove)
    modes = notify.add_parser("set", help="on, silent or off per kind of alert")
    modes.add_argument("--email", required=True)
    from .domain.alerts import ALERT_LABELS

    for kind, label in ALERT_LABELS.items():
        modes.add_argument("--" + kind.value.lower().replace("_", "-"), dest=kind.value.lower(),
                           metavar="MODE", help=f"{label}: on, silent or off")
    modes.set_defaults(func=cmd_notify_set)

    maintenance = _group(sub, "maintenance", "retention of old data", "maintenance_command")
    prune = maintenance.add_parser("prune", help="delete ticks, system logs and finished "
                                   "orders older than the retention settings")
    prune.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
    prune.set_defaults(func=cmd_maintenance_prune)

    logs = sub.add_parser("logs", help="the kept warnings and errors, or the audit trail")
    logs.add_argument("--level", help="warning (default), error or critical: that or worse")
    logs.add_argument("--component", help="only components starting with this, e.g. engine")
    logs.add_argument("--audit", action="store_true", help="the audit trail instead")
    logs.add_argument("--limit", type=int, default=100)
    logs.set_defaults(func=cmd_logs)
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

"""Text from outside never reaches a terminal raw: `printable` itself, what the `tui-trader`
command prints (real commands, in a subprocess) and what the log files hold."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from hostile_text import ESCAPES, HOSTILE, HOSTILE_2, MARKUP, raw_in, refusing_kite

from tui_trader.domain.text import printable, visible

from .test_cli import run_cli


# -- the rule ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, shown", [
    ("plain text, ₹1,520.50", "plain text, ₹1,520.50"),
    (MARKUP, MARKUP),  # markup is the UI's business: here it is just text
    ("\x1b[31mred\x1b[0m", "red"),  # CSI colour
    ("\x1b[2J\x1b[1;1Hwiped", "wiped"),  # clear screen, cursor home
    ("\x1b]0;pwned\x07title", "title"),  # OSC window title, ended by BEL
    ("\x1b]52;c;cGF3bmVk\x1b\\clip", "clip"),  # OSC 52 clipboard write, ended by ST
    ("\x1bP+q\x1b\\dcs", "dcs"),  # DCS
    ("\x9b31mC1", "C1"),  # 8-bit CSI
    ("cut\x1b[3", "cut"),  # a sequence cut off at the end
    ("cut\x1b", "cut"),
    ("bell\x07", "bell␇"),
    ("nul\x00 del\x7f", "nul␀ del␡"),
    ("c1\x85\x9c", "c1 �"),
    ("\u202eexe.png", "�exe.png"),  # right-to-left override
    ("a\u2066b\u2069c\u200fd", "a�b�c�d"),  # isolates, a mark
    ("line\nbreak\r\nand\rcr\ttab", "line break  and cr tab"),
    ("hindi नमस्ते क्‍ष emoji 👩‍💻", "hindi नमस्ते क्‍ष emoji 👩‍💻"),  # joiners stay
])
def test_printable(text, shown):
    assert printable(text) == shown
    assert printable(shown) == shown, "idempotent"
    assert not raw_in(shown)


def test_printable_keeps_line_breaks_when_asked():
    assert printable("a\r\nb\rc\nd\x1b[31m\te", multiline=True) == "a\nb\nc\nd e"


def test_visible_replaces_one_for_one():
    text = "\x1b[31mred\x07\u202e\tx"
    assert visible(text) == "␛[31mred␇�␉x" and len(visible(text)) == len(text)
    assert visible("plain") == "plain"


# -- the command ---------------------------------------------------------------------------
def test_a_data_dir_path_with_escapes_is_printed_and_logged_as_text(tmp_path):
    """The path is outside text too: `user create` prints a note and logs a warning naming
    it (through the command's own stderr logging, the one `tui-trader engine` uses)."""
    data = tmp_path / "\x1b]0;pwned\x07[bold red]x \x1b[31mred"
    made = run_cli(data, "user", "create", "esc@example.com", input_text="longenough\n")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created user esc@example.com"
    assert "WARNING tui_trader.security.keystore: TUI_TRADER_KEYSTORE=file" in made.stderr
    assert "note: TUI_TRADER_KEYSTORE=file" in made.stderr
    assert not raw_in(made.stdout + made.stderr), made.stderr
    assert made.stderr.count("[bold red]x red/master.key") == 2, made.stderr


def test_an_echoed_argument_is_printed_as_text(tmp_path):
    run_cli(tmp_path, "db", "upgrade")
    result = run_cli(tmp_path, "market", "instruments", "--email", "m@example.com",
                     "--account", HOSTILE_2)
    assert result.returncode == 2 and not raw_in(result.stderr), result.stderr
    assert result.stderr.strip().splitlines()[-1] == "tui-trader: user m@example.com not found"
    run_cli(tmp_path, "user", "create", "m@example.com", input_text="longenough\n")
    result = run_cli(tmp_path, "market", "instruments", "--email", "m@example.com",
                     "--account", HOSTILE_2)
    assert result.returncode == 2 and not raw_in(result.stderr), result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "tui-trader: account: no Zerodha Kite account found for this user with label "
        "'�[bold red]x [/] '")


def test_a_kite_error_message_is_printed_as_one_line_of_text(tmp_path, monkeypatch):
    """`market instruments` against a Kite server whose refusal holds markup and escapes."""
    from tui_trader.config import load_settings
    from tui_trader.db.repositories import UserRepository
    from tui_trader.services.brokers import BrokerAccountService
    from tui_trader.services.context import bootstrap

    run_cli(tmp_path, "user", "create", "k@example.com", input_text="longenough\n")
    for name, value in {"TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR": str(tmp_path),
                        "TUI_TRADER_CONFIG": str(tmp_path / "config.toml")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TUI_TRADER_DATABASE_URL", raising=False)
    monkeypatch.delenv("TUI_TRADER_REDIS_URL", raising=False)
    with refusing_kite() as root:
        ctx = bootstrap(load_settings())
        try:
            with ctx.session() as s:
                user_id = UserRepository(s).by_email("k@example.com").id
            brokers = BrokerAccountService(ctx, user_id)
            account = brokers.add_kite("kitekey1234", "secret-1", "Zerodha", root)
            brokers.store_access_token(account.id, "token-abc123",
                                       ctx.clock.now() + timedelta(hours=1))
        finally:
            ctx.close()
        result = run_cli(tmp_path, "market", "instruments", "--email", "k@example.com")
    assert result.returncode == 2, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("tui-trader: ") and MARKUP in last, result.stderr
    assert last.endswith(f"{MARKUP} red ␇ �!"), last
    assert not raw_in(result.stdout + result.stderr) and "Traceback" not in result.stderr


# -- the console's log file ----------------------------------------------------------------
def test_the_log_file_holds_no_terminal_escapes_and_no_forged_lines(tmp_path):
    from tui_trader.ui.logsetup import logs_to_file

    log = logging.getLogger("tests.outside_text")
    with logs_to_file(tmp_path) as path:
        log.warning("Kite rejected order %s: %s", "tag1", HOSTILE)
        log.warning("name %s\n2026-11-23 09:30:00 CRITICAL forged: line", HOSTILE_2)
        try:
            raise RuntimeError(f"broker said {ESCAPES}")
        except RuntimeError:
            log.exception("order update not applied")
    text = path.read_text(encoding="utf-8")
    assert not raw_in(text), text
    lines = text.splitlines()
    assert lines[0].endswith(f"WARNING tests.outside_text: Kite rejected order tag1: {MARKUP} "
                             "red ␇ �!"), lines[0]
    assert not any(line.startswith("2026-11-23 09:30:00 CRITICAL") for line in lines), \
        "a line break in a message cannot start a log line of its own"
    assert "forged: line" in lines[1]
    assert lines[2].endswith("ERROR tests.outside_text: order update not applied")
    assert lines[3] == "Traceback (most recent call last):", "a traceback keeps its lines"
    assert lines[-1] == "RuntimeError: broker said red ␇ �!"


def test_the_log_file_masks_secrets(tmp_path):
    """The console's log file is a handler of its own, added after the command installed
    the redactor: it gets the redactor too."""
    from tui_trader.security.redaction import register_secret, unregister_secret
    from tui_trader.ui.logsetup import logs_to_file

    secret = "access-token-7f3a9c"
    register_secret(secret)
    try:
        with logs_to_file(tmp_path) as path:
            logging.getLogger("tests.outside_text").warning("url ?access_token=%s", secret)
    finally:
        unregister_secret(secret)
    text = path.read_text(encoding="utf-8")
    assert "url ?access_token=" in text and secret not in text

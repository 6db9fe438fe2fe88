"""Settings and the NSE calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from tui_trader.config import load_settings
from tui_trader.db.engine import create_db_engine
from tui_trader.domain.calendar import HolidayFile, NseCalendar
from tui_trader.domain.errors import ConfigError
from tui_trader.domain.schedule import plan_legs
from tui_trader.live.store import connect_store


def test_defaults_need_no_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("TUI_TRADER_DATABASE_URL", raising=False)
    monkeypatch.delenv("TUI_TRADER_REDIS_URL", raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'tui-trader.db'}"
    assert settings.redis_url is None and settings.store_label() == "embedded"
    assert settings.market_timezone == "Asia/Kolkata"


def test_toml_file_and_env_override(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('theme = "trader-light"\nredis_url = "redis://10.9.8.7:6380/2"\n')
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    assert load_settings().theme == "trader-light"
    assert load_settings().store_label() == "redis 10.9.8.7:6380"
    monkeypatch.setenv("TUI_TRADER_THEME", "trader-contrast")
    assert load_settings().theme == "trader-contrast"


@pytest.mark.parametrize("env,value,needle", [
    ("TUI_TRADER_DATABASE_URL", "mysql://x/y", "TUI_TRADER_DATABASE_URL"),
    ("TUI_TRADER_REDIS_URL", "http://localhost", "TUI_TRADER_REDIS_URL"),
    ("TUI_TRADER_ENGINE_MODE", "cloud", "TUI_TRADER_ENGINE_MODE"),
])
def test_bad_setting_is_one_line_naming_it(monkeypatch, tmp_path, env, value, needle):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value).startswith(needle) and "\n" not in str(err.value)


def test_broken_toml_is_a_config_error(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text("theme = \n")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings()


def test_unreachable_servers_name_the_setting_without_password():
    with pytest.raises(ConfigError) as err:
        create_db_engine("postgresql://trader:hunter22@127.0.0.1:1/db")
    assert "TUI_TRADER_DATABASE_URL" in str(err.value) and "hunter22" not in str(err.value)
    assert "127.0.0.1:1" in str(err.value)
    with pytest.raises(ConfigError) as err:
        connect_store("redis://:hunter22@127.0.0.1:1/0")
    assert "TUI_TRADER_REDIS_URL" in str(err.value) and "hunter22" not in str(err.value)


def test_nse_calendar_knows_holidays_and_falls_back():
    cal = NseCalendar()
    assert cal.is_trading_day(date(2026, 11, 23))  # Monday
    assert not cal.is_trading_day(date(2026, 11, 24))  # Guru Nanak Jayanti
    assert not cal.is_trading_day(date(2026, 11, 22))  # Sunday
    assert not cal.uses_fallback(date(2026, 12, 1))
    assert cal.uses_fallback(date(2027, 3, 1)) and cal.is_trading_day(date(2027, 3, 1))
    at = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # 10:30 IST
    assert cal.is_open(at) and cal.status_line(at) == "NSE OPEN 10:30:00 IST"
    assert cal.fallback_note(at) == ""
    assert cal.fallback_note(datetime(2027, 3, 1, 5, tzinfo=UTC)) == \
        "NSE calendar ends 31 Dec 2026: weekdays minus holidays.txt"


def test_holidays_file_and_special_sessions():
    text = "# user holidays\n2027-01-26\n2027-02-06 special 18:00-19:15  # Muhurat\n"
    cal = NseCalendar(HolidayFile.parse(text))
    assert not cal.is_trading_day(date(2027, 1, 26))
    session = cal.session(date(2027, 2, 6))  # a Saturday, but a special session
    assert session.special and session.open == time(18, 0)
    with pytest.raises(ValueError, match="line 1"):
        HolidayFile.parse("2027-13-40\n")


def test_plan_skips_holidays_and_says_why():
    cal = NseCalendar()
    friday_evening = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 17:30 IST
    plan = plan_legs(cal, friday_evening, time(9, 30), time(15, 0))
    assert plan.day == date(2026, 11, 23)
    assert plan.buy_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert "first buy Mon 23 Nov" in plan.note


def test_simulated_clock_setting_starts_where_asked_and_runs(monkeypatch, tmp_path):
    from tui_trader.domain.clock import SimulatedClock, SystemClock

    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    assert isinstance(load_settings().make_clock(), SystemClock)
    monkeypatch.setenv("TUI_TRADER_CLOCK_START", "2026-11-23T09:00:00+05:30")
    monkeypatch.setenv("TUI_TRADER_CLOCK_SPEED", "60")
    clock = load_settings().make_clock()
    assert isinstance(clock, SimulatedClock) and clock.speed == 60
    assert clock.start == datetime(2026, 11, 23, 3, 30, tzinfo=UTC)
    # A minute of real time is an hour of simulated time (driven by an injected monotonic).
    ticks = iter([100.0, 160.0])
    moved = SimulatedClock(clock.start, 60, monotonic=lambda: next(ticks))
    assert moved.now() == datetime(2026, 11, 23, 4, 30, tzinfo=UTC)


@pytest.mark.parametrize("value,needle", [
    ("2026-11-23T09:00:00", "UTC offset"),
    ("monday", "TUI_TRADER_CLOCK_START"),
])
def test_simulated_clock_start_needs_an_aware_instant(monkeypatch, tmp_path, value, needle):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TUI_TRADER_CLOCK_START", value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_simulated_clock_speed_has_bounds(monkeypatch, tmp_path):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TUI_TRADER_CLOCK_SPEED", "0")
    with pytest.raises(ConfigError, match="TUI_TRADER_CLOCK_SPEED"):
        load_settings()


@pytest.mark.parametrize("env,value,needle", [
    ("TUI_TRADER_LOCKOUT_MINUTES", "0", "TUI_TRADER_LOCKOUT_MINUTES: must be at least 1"),
    ("TUI_TRADER_MAX_FAILED_LOGINS", "-3", "TUI_TRADER_MAX_FAILED_LOGINS: must be at least 1"),
    ("TUI_TRADER_SESSION_HOURS", "0", "TUI_TRADER_SESSION_HOURS: must be at least 1"),
    ("TUI_TRADER_SESSION_HOURS", "100000", "TUI_TRADER_SESSION_HOURS: must be at most 720"),
    ("TUI_TRADER_LOCKOUT_MINUTES", "soon", "TUI_TRADER_LOCKOUT_MINUTES: must be a whole number"),
    ("TUI_TRADER_KITE_ORDERS_PER_SECOND", "0",
     "TUI_TRADER_KITE_ORDERS_PER_SECOND: must be at least 1"),
    ("TUI_TRADER_MARKET_TIMEZONE", "Mars/Olympus",
     "TUI_TRADER_MARKET_TIMEZONE: must be a time zone name"),
    ("TUI_TRADER_KITE_ROOT", "http://kite.example.com",
     "TUI_TRADER_KITE_ROOT: must start with https://"),
    ("TUI_TRADER_DATABASE_URL", "postgresql://u:pw@db:port/x",
     "TUI_TRADER_DATABASE_URL: the port must be a number from 1 to 65535"),
    ("TUI_TRADER_REDIS_URL", "redis://u:pw@cache:63x9/0",
     "TUI_TRADER_REDIS_URL: the port must be a number from 1 to 65535"),
    ("TUI_TRADER_REDIS_URL", "redis://cache:6379/zero",
     "TUI_TRADER_REDIS_URL: the database after the port must be a number"),
    ("TUI_TRADER_REDIS_URL", "unix:///run/redis.sock?db=x", "TUI_TRADER_REDIS_URL: db="),
    ("TUI_TRADER_THEME", "dark\udcff", "TUI_TRADER_THEME: must not contain NUL bytes"),
])
def test_settings_have_rules_and_say_which_in_one_line(monkeypatch, tmp_path, env, value,
                                                       needle):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert text.startswith(needle) and "\n" not in text and "pw" not in text


@pytest.mark.parametrize("toml,needle", [
    ('theme = "dark\\u0000"\n', "TUI_TRADER_THEME: must not contain NUL bytes"),
    ('data_dir = "/tmp/a\\u0000b"\n', "TUI_TRADER_DATA_DIR: must not contain NUL bytes"),
    ("feed_symbols = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ('theme = "\\ud800"\n', "not valid TOML"),
])
def test_a_hostile_config_file_is_one_line(monkeypatch, tmp_path, toml, needle):
    config = tmp_path / "config.toml"
    config.write_text(toml, encoding="utf-8")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_a_directory_as_the_config_path_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == f"{tmp_path}: is a directory, not a TOML file (point " \
                             f"TUI_TRADER_CONFIG at the file)"


def test_a_unix_socket_redis_url_is_used_or_explained_in_one_line(tmp_path):
    with pytest.raises(ConfigError) as err:
        connect_store(f"unix://{tmp_path / 'no.sock'}?db=2")
    text = str(err.value)
    assert text.startswith(f"TUI_TRADER_REDIS_URL: cannot reach Redis at {tmp_path}/no.sock")
    assert "\n" not in text


def test_loopback_kite_root_and_numbers_in_range_are_fine(monkeypatch, tmp_path):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TUI_TRADER_KITE_ROOT", "http://127.0.0.1:5010")
    monkeypatch.setenv("TUI_TRADER_LOCKOUT_MINUTES", "1")
    monkeypatch.setenv("TUI_TRADER_REDIS_URL", "unix:///run/redis.sock?db=3")
    settings = load_settings()
    assert settings.kite_root == "http://127.0.0.1:5010" and settings.lockout_minutes == 1


def test_the_keymap_is_a_setting_read_from_the_file_and_the_environment(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('theme = "trader-light"\n[keymap]\nstrategies.new = "a"\n'
                      '"orders.filter" = " slash , ctrl+f "\n', encoding="utf-8")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    assert load_settings().keymap == {"strategies.new": "a", "orders.filter": "slash,ctrl+f"}
    monkeypatch.setenv("TUI_TRADER_KEYMAP", '{"app.help": "f1", "strategies.new": "b"}')
    # The variable's entries over the file's, as for every setting.
    assert load_settings().keymap == {"strategies.new": "b", "orders.filter": "slash,ctrl+f",
                                      "app.help": "f1"}
    assert load_settings().theme == "trader-light"


def test_the_older_keys_table_is_still_read(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"app.help" = "h"\n', encoding="utf-8")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    assert load_settings().keymap == {"app.help": "h"}
    config.write_text('[keys]\n"app.help" = "h"\n[keymap]\n"app.help" = "f1"\n')
    assert load_settings().keymap == {"app.help": "f1"}


@pytest.mark.parametrize("toml,line", [
    ('"app.help" = "?"', 'TUI_TRADER_KEYMAP: "app.help" = "?": "?" is written by its name '
                         'here, e.g. question_mark for ?, slash for /'),
    ('"app.help" = 5', 'TUI_TRADER_KEYMAP: "app.help" = ...: the keys must be text, e.g. '
                       '"ctrl+n" or "n,a"'),
    ('"App Help" = "h"', 'TUI_TRADER_KEYMAP: "App Help" = "h": not a binding id (such as '
                         'strategies.new)'),
    ('"app.help" = "h,,j"', 'TUI_TRADER_KEYMAP: "app.help" = "h,,j": an empty key (keys are '
                            'separated by commas)'),
    ('"app.help" = "cmd+h"', 'TUI_TRADER_KEYMAP: "app.help" = "cmd+h": "cmd" is not a '
                             'modifier (ctrl, shift, alt, meta, super, hyper)'),
    ('"app.help" = "ctrl+ctrl+h"', 'TUI_TRADER_KEYMAP: "app.help" = "ctrl+ctrl+h": '
                                   '"ctrl+ctrl+h" repeats a modifier'),
    ('"app.help" = "Escape"', 'TUI_TRADER_KEYMAP: "app.help" = "Escape": "Escape" is not a '
                              'key: a letter, a digit or a key\'s name (escape, f2, '
                              'question_mark), after modifiers such as ctrl+'),
    ('"app.help" = "h\\u0000"', "TUI_TRADER_KEYMAP: must not contain NUL bytes or "
                                "undecodable characters"),
    ('"app.help" = "h\\nj"', 'TUI_TRADER_KEYMAP: "app.help" = "h\\nj": "h\\nj" is not a key'),
    ('"' + "x" * 60 + '" = "h"', 'TUI_TRADER_KEYMAP: "' + "x" * 40 + '..." = "h": not a '
                                 'binding id'),
])
def test_a_malformed_keymap_entry_is_one_line_naming_it(monkeypatch, tmp_path, toml, line):
    config = tmp_path / "config.toml"
    config.write_text(f"[keymap]\n{toml}\n", encoding="utf-8")
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(config))
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert text.startswith(line) and "\n" not in text


@pytest.mark.parametrize("env,value", [("TUI_TRADER_KEYMAP", "app.help=h"),
                                       ("TUI_TRADER_FEED_SYMBOLS", "INFY,TCS")])
def test_a_setting_that_must_be_json_and_is_not_is_one_line(monkeypatch, tmp_path, env, value):
    monkeypatch.setenv("TUI_TRADER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(err.value) == (f'{env}: must be JSON, e.g. ["INFY", "TCS"] for a list or '
                              '{"strategies.new": "a"} for a table')

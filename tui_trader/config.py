"""Typed settings: environment variables (TUI_TRADER_*) over a TOML file in the config dir,
read by pydantic-settings' own TOML source.

`TUI_TRADER_CONFIG` points at another TOML file (tests use it). Defaults need no setup: a
SQLite file in the user data dir and an embedded in-process Redis-compatible store. Every
problem (a broken file, a bad value) is one ConfigError naming the file or the setting.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, TomlConfigSettingsSource
from pydantic_settings.exceptions import SettingsError

from .domain.clock import Clock, SimulatedClock, SystemClock
from .domain.errors import ConfigError, ValidationError
from .domain.validation import api_root

APP_NAME = "tui-trader"


def default_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME))


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def config_file_path() -> Path:
    override = os.environ.get("TUI_TRADER_CONFIG")
    return Path(override) if override else default_config_dir() / "config.toml"


def _config_file_source(settings_cls: type[BaseSettings]) -> TomlConfigSettingsSource:
    """The TOML config file as a settings source; a file that cannot be read or parsed is a
    ConfigError naming it, not a traceback. A missing file is no settings."""
    path = config_file_path()
    if path.is_dir():  # the source would skip it silently: say what is wrong instead
        raise ConfigError(str(path), "is a directory, not a TOML file (point "
                                     "TUI_TRADER_CONFIG at the file)")
    try:
        source = TomlConfigSettingsSource(settings_cls, toml_file=path)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(str(path), "not valid TOML (nested too deeply)") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read "
                                     f"({exc.strerror or type(exc).__name__})") from None
    for table in ("keymap", "keys"):
        # Flat before the environment's entries are merged over the file's: an entry
        # written `strategies.new = "a"` is then replaced by the variable's "strategies.new".
        if isinstance(source.init_kwargs.get(table), dict):
            source.init_kwargs[table] = _dotted(source.init_kwargs[table])
    return source


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUI_TRADER_", extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Field(default_factory=default_data_dir)
    market_timezone: str = "Asia/Kolkata"
    theme: str = "trader-dark"
    engine_mode: str = "embedded"  # embedded: engine thread in the TUI; attach: a server runs it
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    max_failed_logins: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    kite_root: str | None = None  # e.g. http://127.0.0.1:5010 to practise on the sandbox
    kite_orders_per_second: int = Field(default=10, ge=1, le=1_000)
    kite_orders_per_minute: int = Field(default=400, ge=1, le=60_000)
    kite_orders_per_day: int = Field(default=5000, ge=1, le=10_000_000)
    feed_symbols: list[str] = Field(default_factory=list)
    # A simulated clock: the console and engine live from this instant on, `clock_speed`
    # times as fast as real time (practice, and testing the real binary on a chosen day).
    # Only paper orders are placed while it is set.
    clock_start: datetime | None = None
    clock_speed: float = Field(default=1.0, gt=0, le=1000)
    # Retention (days) of `tui-trader maintenance prune` and the daily job: market ticks,
    # the system log, and finished orders with their history.
    retention_ticks_days: int = Field(default=30, ge=1, le=36_500)
    retention_logs_days: int = Field(default=90, ge=1, le=36_500)
    retention_orders_days: int = Field(default=365, ge=1, le=36_500)
    # The IST hour the engine process prunes at each day (after the market has closed).
    retention_hour_ist: int = Field(default=18, ge=0, le=23)
    # The user's keys: binding id -> key(s), e.g. "strategies.new" = "a" or "ctrl+n,a"
    # (the `[keymap]` table of the file). The console applies the ids it has.
    keymap: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, _config_file_source(settings_cls))

    @model_validator(mode="before")
    @classmethod
    def _older_keys_table(cls, data: Any) -> Any:
        """`[keys]` is what the keymap table was called before it was a setting."""
        if isinstance(data, dict) and "keymap" not in data and isinstance(data.get("keys"),
                                                                          dict):
            data = {**data, "keymap": data["keys"]}
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _check_text(cls, value: Any) -> Any:
        """No NUL bytes or lone surrogates (undecodable bytes in the environment) anywhere:
        they reach file names, URLs and the database as errors far from their cause."""
        _refuse_undecodable(value if isinstance(value, list | tuple) else [value])
        return value

    @field_validator("keymap", mode="before")
    @classmethod
    def _check_keymap(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise ValueError('must be a table of binding id = key(s), e.g. '
                             '"strategies.new" = "a"')
        entries = _dotted(value)
        _refuse_undecodable([*entries.keys(), *entries.values()])
        return {binding: _keymap_entry(binding, keys) for binding, keys in entries.items()}

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        scheme = parts.scheme
        if not scheme.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError(f"must start with sqlite:// or postgresql://, got scheme "
                             f"'{scheme or '(none)'}'")
        if not scheme.startswith("sqlite"):
            _check_port(parts)
        if scheme in ("postgres", "postgresql"):
            value = "postgresql+psycopg" + value[len(scheme):]
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"must start with redis://, rediss:// or unix://, got "
                             f"'{parts.scheme or '(none)'}'")
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError("unix:// needs the socket's path, e.g. "
                                 "unix:///run/redis/redis.sock?db=0")
        else:
            _check_port(parts)
            if parts.path.strip("/") and not parts.path.strip("/").isdigit():
                raise ValueError("the database after the port must be a number, e.g. "
                                 "redis://host:6379/0")
        for db in parse_qs(parts.query).get("db", []):
            if not db.isdigit():
                raise ValueError("db= must be a number")
        return value

    @field_validator("kite_root")
    @classmethod
    def _check_kite_root(cls, value: str | None) -> str | None:
        try:
            return api_root("kite_root", value)
        except ValidationError as exc:
            raise ValueError(exc.rule) from None

    @field_validator("market_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be a time zone name such as Asia/Kolkata") from None
        return value

    @field_validator("clock_start")
    @classmethod
    def _check_clock_start(cls, value: datetime | None) -> datetime | None:
        if value is not None and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError("needs a UTC offset, e.g. 2026-11-23T09:00:00+05:30")
        return value

    def make_clock(self) -> Clock:
        """The wall clock, or the simulated one when `clock_start` is set."""
        if self.clock_start is None:
            return SystemClock()
        return SimulatedClock(self.clock_start, self.clock_speed)

    @field_validator("engine_mode")
    @classmethod
    def _check_engine_mode(cls, value: str) -> str:
        if value not in ("embedded", "attach"):
            raise ValueError("must be 'embedded' or 'attach'")
        return value

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'tui-trader.db'}"

    @property
    def holidays_file(self) -> Path:
        return default_config_dir() / "holidays.txt" if "TUI_TRADER_CONFIG" not in os.environ \
            else config_file_path().parent / "holidays.txt"

    def store_label(self) -> str:
        """What the status bar shows for the live store: never credentials."""
        if not self.redis_url:
            return "embedded"
        parts = urlsplit(self.redis_url)
        return f"redis {parts.hostname or 'socket'}:{parts.port or 6379}"


def _refuse_undecodable(values: list[Any]) -> None:
    for text in values:
        if isinstance(text, str) and any(ch == "\0" or "\ud800" <= ch <= "\udfff"
                                         for ch in text):
            raise ValueError("must not contain NUL bytes or undecodable characters")


# A binding id is "<where>.<action>" (see `?` in the console); a key is a letter, a digit or
# a key's name (escape, f2, question_mark), after modifiers: ctrl+shift+tab.
_BINDING_ID = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")
_KEY_NAME = re.compile(r"[a-z][a-z0-9_]+")
_MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")


def _dotted(table: dict[str, Any]) -> dict[str, Any]:
    """A keymap table with its sub-tables flattened: TOML reads `strategies.new = "a"`
    (unquoted) as {"strategies": {"new": "a"}}, which means "strategies.new"."""
    out: dict[str, Any] = {}
    pending = [("", table)]
    while pending:  # a loop, not recursion: the file decides how deep this goes
        prefix, current = pending.pop()
        for name, value in current.items():
            if isinstance(value, dict):
                pending.append((f"{prefix}{name}.", value))
            else:
                out[f"{prefix}{name}"] = value
    return out


def _quoted(text: str, limit: int = 40) -> str:
    """`text` in double quotes on one line of ASCII (anything else shown as an escape), cut
    to `limit` characters."""
    return json.dumps(text if len(text) <= limit else text[:limit] + "...")


def _keymap_entry(binding: str, keys: Any) -> str:
    """One keymap entry's keys, spaces around commas dropped; ValueError naming the entry
    for a malformed one."""
    entry = f"{_quoted(binding)} = {_quoted(keys) if isinstance(keys, str) else '...'}"
    if not _BINDING_ID.fullmatch(binding):
        raise ValueError(f"{entry}: not a binding id (such as strategies.new)")
    if not isinstance(keys, str):
        raise ValueError(f"{entry}: the keys must be text, e.g. \"ctrl+n\" or \"n,a\"")
    parts = [part.strip() for part in keys.split(",")]
    for part in parts:
        problem = _key_problem(part)
        if problem:
            raise ValueError(f"{entry}: {problem}")
    return ",".join(parts)


def _key_problem(key: str) -> str | None:
    if not key:
        return "an empty key (keys are separated by commas)"
    *modifiers, name = key.split("+")
    for modifier in modifiers:
        if modifier not in _MODIFIERS:
            return f"{_quoted(modifier)} is not a modifier ({', '.join(_MODIFIERS)})"
    if len(set(modifiers)) != len(modifiers):
        return f"{_quoted(key)} repeats a modifier"
    if len(name) == 1:
        if name.isalnum() and name.isascii():
            return None
        return (f"{_quoted(name)} is written by its name here, e.g. question_mark for ?, "
                f"slash for /")
    if not _KEY_NAME.fullmatch(name):
        return (f"{_quoted(key)} is not a key: a letter, a digit or a key's name "
                f"(escape, f2, question_mark), after modifiers such as ctrl+")
    return None


def _check_port(parts: SplitResult) -> None:
    try:
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError:
        raise ValueError("the port must be a number from 1 to 65535") from None


_RULES = {
    "greater_than_equal": lambda ctx: f"must be at least {ctx['ge']}",
    "less_than_equal": lambda ctx: f"must be at most {ctx['le']}",
    "greater_than": lambda ctx: f"must be more than {ctx['gt']}",
    "less_than": lambda ctx: f"must be less than {ctx['lt']}",
    "int_parsing": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "float_parsing": lambda ctx: "must be a number",
}


def load_settings(**overrides: Any) -> Settings:
    """Build settings; any problem becomes one ConfigError naming the setting and the rule
    (never a URL's or path's value, which may hold a password; a keymap entry is quoted)."""
    try:
        return Settings(**overrides)
    except SettingsError as exc:  # an environment value that should be JSON is not
        found = re.search(r'field "(\w+)"', str(exc))
        if found is None:
            raise ConfigError("settings", " ".join(str(exc).split())) from None
        raise ConfigError(f"TUI_TRADER_{found.group(1).upper()}",
                          "must be JSON, e.g. [\"INFY\", \"TCS\"] for a list or "
                          "{\"strategies.new\": \"a\"} for a table") from None
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err.get("loc") else "config"
        rule = _RULES.get(err.get("type", ""))
        msg = rule(err.get("ctx") or {}) if rule else \
            err.get("msg", "invalid").removeprefix("Value error, ")
        raise ConfigError(f"TUI_TRADER_{name.upper()}", msg) from None

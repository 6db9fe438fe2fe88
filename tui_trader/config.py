"""Typed settings: environment variables (TUI_TRADER_*) over a TOML file in the config dir.

`TUI_TRADER_CONFIG` points at another TOML file (tests use it). Defaults need no setup: a
SQLite file in the user data dir and an embedded in-process Redis-compatible store.
"""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, field_validator
from pydantic import ValidationError as PydanticValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

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


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML config file; a broken file is a ConfigError, not a traceback."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        path = config_file_path()
        self._data: dict[str, Any] = {}
        if path.exists():
            try:
                self._data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(str(path), f"not valid TOML ({exc})") from None
            except RecursionError:
                raise ConfigError(str(path), "not valid TOML (nested too deeply)") from None
            except IsADirectoryError:
                raise ConfigError(str(path), "is a directory, not a TOML file (point "
                                             "TUI_TRADER_CONFIG at the file)") from None
            except OSError as exc:
                raise ConfigError(str(path), f"cannot be read "
                                             f"({exc.strerror or type(exc).__name__})") from None

    def get_field_value(self, field, field_name):  # pragma: no cover - required by base
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


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

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings,
                                   dotenv_settings, file_secret_settings):
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @field_validator("*", mode="before")
    @classmethod
    def _check_text(cls, value: Any) -> Any:
        """No NUL bytes or lone surrogates (undecodable bytes in the environment) anywhere:
        they reach file names, URLs and the database as errors far from their cause."""
        for text in (value if isinstance(value, list | tuple) else [value]):
            if isinstance(text, str) and any(ch == "\0" or "\ud800" <= ch <= "\udfff"
                                             for ch in text):
                raise ValueError("must not contain NUL bytes or undecodable characters")
        return value

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
    (never its value, which may be a URL with a password)."""
    try:
        return Settings(**overrides)
    except PydanticValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err.get("loc") else "config"
        rule = _RULES.get(err.get("type", ""))
        msg = rule(err.get("ctx") or {}) if rule else \
            err.get("msg", "invalid").removeprefix("Value error, ")
        raise ConfigError(f"TUI_TRADER_{name.upper()}", msg) from None

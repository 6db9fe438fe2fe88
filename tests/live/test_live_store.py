"""connect_store: the shared embedded server, real-server connection errors, store_kind."""

from __future__ import annotations

import os
import traceback
from urllib.parse import urlsplit, urlunsplit

import pytest

from tui_trader.domain.errors import ConfigError
from tui_trader.live.store import connect_store, reset_embedded_store, store_kind


def test_clients_share_one_store(make_client, store_url) -> None:
    first, second = make_client(), make_client()
    first.set("probe", "1")
    assert second.get("probe") == "1"  # decoded str, same data seen by another client
    assert store_kind(first) == ("embedded" if store_url is None else "redis")


def test_embedded_reset_keeps_clients_sharing() -> None:
    before = connect_store(None)
    try:
        before.set("probe", "x")
        reset_embedded_store()
        assert before.get("probe") is None
        after = connect_store(None)
        after.set("probe", "y")
        assert before.get("probe") == "y"
        assert store_kind(after) == "embedded"
        after.close()
    finally:
        before.close()
        reset_embedded_store()


def test_unreachable_redis_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        connect_store("redis://127.0.0.1:1/0")
    assert info.value.setting == "TUI_TRADER_REDIS_URL"
    assert "TUI_TRADER_REDIS_URL" in str(info.value)
    assert "cannot reach Redis at 127.0.0.1:1" in str(info.value)


def _everything_said(exc: BaseException | None) -> str:
    """The error's text and that of every exception chained to it (cause or context), i.e.
    what a log of the full traceback would show apart from source lines."""
    said = ""
    while exc is not None:
        said += str(exc) + repr(exc) + "".join(traceback.format_exception_only(exc))
        exc = exc.__cause__ or exc.__context__
    return said


@pytest.mark.parametrize(
    "url", ["redis://:hunter22@127.0.0.1:1/0", "redis://trader:hunter22@127.0.0.1:1/0"]
)
def test_password_never_in_error(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        connect_store(url)
    assert "hunter22" not in _everything_said(info.value)
    assert "127.0.0.1:1" in str(info.value)


def test_invalid_url_is_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        connect_store("http://:hunter22@127.0.0.1:6379/0")
    assert "hunter22" not in _everything_said(info.value)
    assert info.value.setting == "TUI_TRADER_REDIS_URL"


def test_wrong_password_on_real_server_is_config_error() -> None:
    base = os.environ.get("TUI_TRADER_TEST_REDIS_URL")
    if not base:
        pytest.skip("TUI_TRADER_TEST_REDIS_URL not configured")
    parts = urlsplit(base)
    host = f"{parts.hostname}:{parts.port or 6379}"
    url = urlunsplit((parts.scheme, f"nobody:hunter22@{host}", parts.path, "", ""))
    with pytest.raises(ConfigError) as info:
        connect_store(url)
    assert "hunter22" not in _everything_said(info.value)
    assert f"cannot reach Redis at {host}" in str(info.value)

"""`tui-trader market candles`: its progress lines, and bad input refused in one line
before anything is opened or fetched."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from tui_trader.cli import _ChunkProgress
from tui_trader.services.market_data import ChunkDone


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_line_per_chunk_when_not_a_terminal() -> None:
    out = io.StringIO()
    show = _ChunkProgress(out)
    show(ChunkDone(0, 3, 0, True))
    show(ChunkDone(1, 3, 22_500, False))
    show(ChunkDone(2, 3, 33_000, False))
    assert out.getvalue().splitlines() == [
        "chunk 1 of 3, 0 candles (already stored)", "chunk 2 of 3, 22,500 candles",
        "chunk 3 of 3, 33,000 candles"]


def test_bar_redrawn_in_place_on_a_terminal() -> None:
    out = _Terminal()
    show = _ChunkProgress(out)
    show(ChunkDone(0, 2, 100, False))
    show(ChunkDone(1, 2, 250, False))
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert "[##########..........] chunk 1 of 2, 100 candles" in text
    assert "[####################] chunk 2 of 2, 250 candles" in text
    assert "\x1b" not in text
    show.finish()  # a finished bar needs no extra line
    assert out.getvalue() == text


def test_bar_cut_short_ends_its_line() -> None:
    out = _Terminal()
    show = _ChunkProgress(out)
    show(ChunkDone(0, 3, 100, False))
    show.finish()  # the download failed at chunk 2: the error line starts afresh
    assert out.getvalue().endswith("chunk 1 of 3, 100 candles".ljust(60) + "\n")


@pytest.mark.parametrize(("args", "line"), [
    (["--from", "2026-11-20", "--to", "2026-11-01"], "--from: must not be after --to"),
    (["--from", "2026-11-01", "--to", "2026-11-20", "--interval", "7minute"],
     "interval: must be one of minute, 3minute"),
    (["--from", "20 Nov", "--to", "2026-11-20"], "--from: must be a date like 2026-11-20"),
])
def test_bad_input_one_line_nothing_opened(tmp_path, args, line) -> None:
    env = {**os.environ, "TUI_TRADER_KEYSTORE": "file", "TUI_TRADER_DATA_DIR":
           str(tmp_path / "data"), "TUI_TRADER_CONFIG": str(tmp_path / "config.toml"),
           "TUI_TRADER_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"}
    env.pop("TUI_TRADER_REDIS_URL", None)
    done = subprocess.run([sys.executable, "-m", "tui_trader.cli", "market", "candles", "INFY",
                           "--email", "a@example.com", *args], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and line in lines[0], done.stderr
    assert not (tmp_path / "never.db").exists()  # nothing opened, nothing written

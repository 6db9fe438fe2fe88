"""Console benchmark: cold start, screen switching, and the live positions table.

Every figure comes from a real terminal (a pseudo-terminal this script reads, as a terminal
would), beside a floor measured in the same run:
- cold start of `tui-trader` until the login screen is on the terminal, beside the floor of
  starting Python at all (`python -c pass`);
- keypress-to-repaint for switching sections (1-5), warm, in the real binary;
- one frame of live updates to the positions table (200 rows, every LTP and unrealized P&L
  changed) at 80x24 and 160x48: CPU time to apply the update and paint it to the terminal,
  beside Textual's stock DataTable given the same cell updates in the same run;
- CPU % of one core to sustain 10 updates a second of 200 rows at 160x48 (both tables).

Medians throughout. Targets: cold start <= 800 ms, switch <= 50 ms, <= 40 % of a core.

    python benchmarks/ui.py [--quick] [--json]

The console runs with TUI_TRADER_ENGINE_MODE=attach here (no engine thread in the process),
so the switch figure is the UI's own; the embedded engine's cost is benchmarks/engine.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).with_name("tui-trader")
PASSWORD = "bench-password-1"
ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[P\]_^][^\x1b]*\x1b\\|\x1b[@-_]")
ROWS = 200


# -- a terminal we can read -----------------------------------------------------------------
class Terminal:
    """A child process on a pseudo-terminal of a given size; output is read and kept."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        master, slave = pty.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.buffer = b""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        self.buffer += chunk
        return bool(chunk)

    def text(self) -> bytes:
        return ANSI.sub(b"", self.buffer)

    def wait_for(self, marker: str, timeout: float = 30.0) -> float:
        """Seconds until `marker` appears in the output (escape codes removed)."""
        needle = marker.encode()
        deadline = time.perf_counter() + timeout
        while needle not in self.text():
            if time.perf_counter() > deadline:
                tail = self.text()[-400:].decode(errors="replace")
                raise TimeoutError(f"never saw {marker!r}; last output: {tail!r}")
            self._read(0.005)
        return time.perf_counter()

    def send(self, data: bytes) -> float:
        self.buffer = b""
        at = time.perf_counter()
        os.write(self.master, data)
        return at

    def drain_until_exit(self, timeout: float = 60.0) -> None:
        deadline = time.perf_counter() + timeout
        while self.proc.poll() is None and time.perf_counter() < deadline:
            self._read(0.05)
            self.buffer = self.buffer[-4096:]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self.master)


# -- a console home with a user and some data -----------------------------------------------
def make_home(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env.update({"TUI_TRADER_KEYSTORE": "file",
                "TUI_TRADER_CONFIG": str(folder / "config.toml"),
                "TUI_TRADER_DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
                "TUI_TRADER_DATA_DIR": str(folder / "data"),
                "TUI_TRADER_ENGINE_MODE": "attach", "TERM": "xterm-256color"})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        from tui_trader.config import load_settings
        from tui_trader.services.auth import AuthService
        from tui_trader.services.context import bootstrap

        ctx = bootstrap(load_settings())
        user = AuthService(ctx).sign_up("bench@example.com", PASSWORD, "Bench")
        from tests.ui.seed import seed_showcase

        seed_showcase(ctx, user.id)
        ctx.close()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return env


def floor_start_ms(runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def cold_start_ms(env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        term = Terminal([str(BIN)], env, (80, 24))
        try:
            seen = term.wait_for("Password")
            samples.append((seen - term.started) * 1000)
            term.send(b"\x11")  # ctrl+q
            term.drain_until_exit(10)
        finally:
            term.close()
    return statistics.median(samples)


SWITCHES = (("2", "Buy→Sell"), ("3", "Clear filters"), ("4", "Access token"),
            ("5", "All read"), ("1", "Unrealized"))


def screen_switch_ms(env: dict[str, str], rounds: int) -> tuple[float, float]:
    """(median warm switch, median first visit) in ms, keypress to the new screen shown."""
    term = Terminal([str(BIN)], env, (120, 40))
    try:
        term.wait_for("Password")
        term.wait_for("engine")
        term.send(b"bench@example.com\r")
        time.sleep(0.2)
        term.send(PASSWORD.encode() + b"\r")
        term.wait_for("Total", timeout=60)
        time.sleep(1.0)
        first, warm = [], []
        for round_ in range(rounds + 1):
            for key, marker in SWITCHES:
                at = term.send(key.encode())
                seen = term.wait_for(marker)
                (first if round_ == 0 else warm).append((seen - at) * 1000)
                time.sleep(0.05)
        term.send(b"\x11")
        term.drain_until_exit(10)
        return statistics.median(warm), statistics.median(first)
    finally:
        term.close()


# -- the positions table, in a child process on a real terminal -----------------------------
def run_child(kind: str, mode: str, size: tuple[int, int], seconds: float,
              frames: int) -> dict:
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", kind, mode,
            str(frames), str(seconds), str(out)]
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["TERM"] = "xterm-256color"
    term = Terminal(argv, env, size)
    try:
        term.drain_until_exit(120)
        tail = term.text()[-600:].decode(errors="replace")
    finally:
        term.close()
    text = out.read_text()
    out.unlink()
    if not text:
        raise RuntimeError(f"benchmark child {kind}/{mode} gave no result; it printed: {tail}")
    return json.loads(text)


def child_main(kind: str, mode: str, frames: int, seconds: float, out: str) -> None:
    """Runs inside the pseudo-terminal: a table of ROWS positions, updated live."""
    import random

    from rich.text import Text
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from tui_trader.ui.live_book import PositionLine
    from tui_trader.ui.themes import load_themes, pnl_colors
    from tui_trader.ui.widgets.positions_table import COLUMNS, PositionsTable, row_cells

    rng = random.Random(7)
    prices = [Decimal(rng.randint(10_000, 400_000)) / 100 for _ in range(ROWS)]

    def lines(step: int) -> list[PositionLine]:
        out_lines = []
        for i, avg in enumerate(prices):
            ltp = avg + Decimal(((step * 7 + i * 13) % 41) - 20) / 10
            out_lines.append(PositionLine(
                id=f"p{i}", symbol=f"SYM{i:03d}", quantity=10, average_price=avg, ltp=ltp,
                unrealized=(ltp - avg) * 10, realized=Decimal(0), status="OPEN",
                strategy=f"strategy {i}"))
        return out_lines

    palette = pnl_colors(next(t for t in load_themes() if t.name == "trader-dark"))
    role_style = {"up": f"bold {palette[0]}", "down": f"bold {palette[1]}", "flat": "",
                  "dim": "dim", "": ""}

    def stock_cells(line: PositionLine) -> list[Text]:
        """The same cells as ours, as the Rich Text a stock DataTable takes."""
        return [Text(text, style=role_style[role],
                     justify="right" if column.right else "left")
                for column, (text, role) in zip(COLUMNS, row_cells(line), strict=True)]

    class Bench(App):
        def compose(self) -> ComposeResult:
            if kind == "positions":
                yield PositionsTable(id="t", show_strategy=True)
            else:
                yield DataTable(id="t", cursor_type="row", zebra_stripes=True)

        async def on_mount(self) -> None:
            for theme in load_themes():
                self.register_theme(theme)
            self.theme = "trader-dark"
            self.step = 0
            table = self.query_one("#t")
            if kind == "positions":
                table.set_palette(palette)
                table.sync(lines(0))
            else:
                for column in COLUMNS:
                    table.add_column(column.label, key=column.key, width=column.width)
                for line in lines(0):
                    table.add_row(*stock_cells(line), key=line.id)
            # The measuring loop runs as a task of its own: awaiting a repaint from inside
            # a message handler would block the very loop that paints.
            self.call_after_refresh(lambda: self.run_worker(self.start(), exit_on_error=True))

        def update(self) -> None:
            """One frame's worth of new data: every row's LTP and unrealized P&L move."""
            self.step += 1
            table = self.query_one("#t")
            if kind == "positions":
                table.sync(lines(self.step))
                return
            with self.batch_update():
                for line in lines(self.step):
                    cells = stock_cells(line)
                    table.update_cell(line.id, "ltp", cells[3])
                    table.update_cell(line.id, "unrealized", cells[4])

        async def start(self) -> None:
            result: dict = {}
            if mode == "frames":
                samples = []
                loop = asyncio.get_running_loop()
                for i in range(frames + 5):
                    painted = loop.create_future()
                    t0 = time.process_time()
                    self.update()
                    self.call_after_refresh(painted.set_result, None)
                    await painted
                    if i >= 5:  # warm-up frames are not counted
                        samples.append((time.process_time() - t0) * 1000)
                result["frame_ms"] = statistics.median(samples)
            else:
                self.set_interval(0.1, self.update)
                cpu0, wall0 = time.process_time(), time.perf_counter()
                await asyncio.sleep(seconds)
                cpu = time.process_time() - cpu0
                result["cpu_pct"] = 100 * cpu / (time.perf_counter() - wall0)
                result["frames"] = self.step
            Path(out).write_text(json.dumps(result))
            self.exit()

    Bench().run()


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, mode, frames, seconds, out = args.child
        child_main(kind, mode, int(frames), float(seconds), out)
        return 0
    if shutil.which(str(BIN)) is None:
        print(f"{BIN} not found: install the project (make venv) first", file=sys.stderr)
        return 2
    runs = 3 if args.quick else 7
    frames = 20 if args.quick else 60
    seconds = 3.0 if args.quick else 6.0
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tui-trader-bench-") as tmp:
        env = make_home(Path(tmp))
        results["floor_start_ms"] = floor_start_ms(runs)
        results["cold_start_ms"] = cold_start_ms(env, runs)
        print(f"cold start to login screen  {results['cold_start_ms']:8.0f} ms   "
              f"(floor: python -c pass {results['floor_start_ms']:.0f} ms; target <= 800)")
        warm, first = screen_switch_ms(env, 2 if args.quick else 5)
        results["screen_switch_ms"] = warm
        results["screen_switch_first_visit_ms"] = first
        print(f"screen switch, key to repaint {warm:7.1f} ms   (first visit {first:.0f} ms; "
              f"target <= 50)")
    for size in ((80, 24), (160, 48)):
        tag = f"{size[0]}x{size[1]}"
        ours = run_child("positions", "frames", size, 0, frames)["frame_ms"]
        stock = run_child("datatable", "frames", size, 0, frames)["frame_ms"]
        results[f"positions_frame_ms_{tag}"] = ours
        results[f"datatable_frame_ms_{tag}"] = stock
        print(f"positions frame, {ROWS} rows, {tag:7} {ours:7.1f} ms   "
              f"(stock DataTable, same updates: {stock:.1f} ms)")
    ours = run_child("positions", "cpu", (160, 48), seconds, 0)
    stock = run_child("datatable", "cpu", (160, 48), seconds, 0)
    results["positions_cpu_pct_10hz_160x48"] = ours["cpu_pct"]
    results["datatable_cpu_pct_10hz_160x48"] = stock["cpu_pct"]
    print(f"CPU at 10 Hz, {ROWS} rows, 160x48  {ours['cpu_pct']:7.1f} %    "
          f"(stock DataTable: {stock['cpu_pct']:.1f} %; target <= 40)")
    if args.json:
        print(json.dumps({k: round(v, 2) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

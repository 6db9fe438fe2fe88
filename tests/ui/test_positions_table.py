"""The live positions table and the book behind it: a keyed diff that touches only changed
cells, never rebuilds, keeps the cursor, signs P&L, and the day's curve."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from textual.app import App, ComposeResult

from tui_trader.domain.events import PositionChanged
from tui_trader.ui.formatting import signed_money
from tui_trader.ui.live_book import LiveBook, PositionLine
from tui_trader.ui.widgets.positions_table import PositionsTable

T0 = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def line(i: int, ltp: str = "100.00", status: str = "OPEN", unreal: str = "0") -> PositionLine:
    return PositionLine(id=f"p{i}", symbol=f"SYM{i:03d}", quantity=10,
                        average_price=Decimal("100.00"), ltp=Decimal(ltp),
                        unrealized=Decimal(unreal), realized=Decimal(0), status=status)


class TableApp(App):
    def compose(self) -> ComposeResult:
        yield PositionsTable(id="t")


def counting(table: PositionsTable) -> dict[str, int]:
    """Count the table's add/update/remove calls (the diff's only tools)."""
    calls = {"add_row": 0, "update_cell": 0, "remove_row": 0, "clear": 0}
    for name in calls:
        original = getattr(table, name)

        def wrapper(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        setattr(table, name, wrapper)
    return calls


async def test_a_tick_updates_only_the_cells_that_changed():
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(PositionsTable)
        table.sync([line(i) for i in range(50)])
        await pilot.pause()
        table.move_cursor(row=7)
        calls = counting(table)
        # One price moves: LTP and unrealized change, nothing else.
        rows = [line(i) for i in range(50)]
        rows[3] = line(3, ltp="101.00", unreal="10.00")
        assert table.sync(rows)
        assert calls == {"add_row": 0, "update_cell": 2, "remove_row": 0, "clear": 0}
        assert table.sync(rows) is False, "same data: nothing to do"
        assert calls["update_cell"] == 2
        assert table.cursor_row == 7, "the cursor stays put"
        assert [str(c) for c in table.get_row("p3")][4] == "+10.00"


async def test_rows_come_and_go_by_key_and_closed_ones_sink():
    app = TableApp()
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(PositionsTable)
        table.sync([line(1), line(2), line(3)])
        await pilot.pause()
        calls = counting(table)
        table.sync([line(1, status="CLOSED"), line(3), line(4)])
        assert calls["clear"] == 0 and calls["remove_row"] == 1 and calls["add_row"] == 1
        order = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert order == ["SYM003", "SYM004", "SYM001"]


async def test_only_changed_rows_on_screen_are_redrawn_and_colours_need_no_cell_update():
    app = TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(PositionsTable)
        table.sync([line(i, unreal="-5.00") for i in range(50)])
        await pilot.pause()
        drawn = table.lines_rendered
        rows = [line(i, unreal="-5.00") for i in range(50)]
        rows[2] = line(2, ltp="99.00", unreal="-10.00")  # on screen
        rows[40] = line(40, ltp="99.00", unreal="-10.00")  # scrolled out of view
        table.sync(rows)
        await pilot.pause()
        assert table.lines_rendered - drawn == 1, "one visible row changed: one row drawn"
        calls = counting(table)
        table.set_palette(("#0000ff", "#ff8800", "#ffffff"))
        await pilot.pause()
        assert calls["update_cell"] == 0, "a new theme recolours without touching cells"
        strip = table.render_line(2)  # the second row (the first carries the cursor)
        loss = next(seg for seg in strip if seg.text.strip() == "-5.00")
        assert loss.style.color.triplet.hex == "#ff8800"


def test_pnl_always_carries_its_sign():
    assert signed_money(Decimal("1234.5")) == "+1,234.50"
    assert signed_money(Decimal("-0.004")) == "0.00"
    assert signed_money(Decimal("-200")) == "-200.00"
    assert signed_money(Decimal(0)) == "0.00"


def event(pid: str, ltp: str, unreal: str, status: str = "OPEN") -> PositionChanged:
    return PositionChanged(user_id="u", position_id=pid, strategy_id="s1", symbol="INFY",
                           quantity=10, average_price=Decimal("1520"), ltp=Decimal(ltp),
                           unrealized_pnl=Decimal(unreal), realized_pnl=Decimal(0),
                           status=status)


def test_book_applies_events_totals_and_keeps_event_rows_over_a_stale_load():
    book = LiveBook()
    book.begin_load()
    assert book.apply([event("a", "1530", "100")])
    assert not book.apply([event("a", "1530", "100")]), "same event: no change"
    # A load that started before the event must not undo it.
    book.load([line(9), PositionLine("a", "INFY", 10, Decimal("1520"), Decimal("1525"),
                                     Decimal("50"), Decimal(0), "OPEN")],
              {"s1": "INFY morning"})
    assert book.positions["a"].ltp == Decimal("1530")
    totals = book.totals()
    assert totals.unrealized == Decimal("100") and totals.open_quantity == 20
    book.apply([event("a", "1530", "100")])
    assert book.positions["a"].strategy == "INFY morning"


def test_book_samples_the_curve_at_most_once_a_second_and_restarts_each_ist_day():
    book = LiveBook()
    book.load([])
    assert book.sample(T0)
    assert not book.sample(T0 + timedelta(milliseconds=500))
    book.apply([event("a", "1530", "100")])
    assert book.sample(T0 + timedelta(seconds=2))
    assert not book.sample(T0 + timedelta(seconds=30)), "unchanged: once a minute is enough"
    assert book.sample(T0 + timedelta(minutes=2))
    assert len(book.series) == 3
    assert book.sample(T0 + timedelta(days=1))
    assert len(book.series) == 1

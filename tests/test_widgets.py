"""The shared widgets, in a real Textual app."""

from __future__ import annotations

from textual.app import App, ComposeResult

from ringplus_tui.widgets import CountdownTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountdownTable()

    def on_mount(self) -> None:
        table = self.query_one(CountdownTable)
        table.add_column("Account", key="Account")
        table.add_column("Left", key="Left")
        for name, left in (("alice", "06:40"), ("bob", "23h 17m")):
            table.add_row(name, left, key=name)


def painted(table: CountdownTable[str], row: int) -> str:
    return table.render_line(row + 1).text  # line 0 is the header


async def test_a_changed_countdown_is_painted_and_the_other_rows_keep_theirs() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(CountdownTable)
        await pilot.pause()
        assert "06:40" in painted(table, 0) and "23h 17m" in painted(table, 1)
        table.update_live_cells([("alice", "Left", "06:39")])
        await pilot.pause()
        assert "06:39" in painted(table, 0)
        assert "23h 17m" in painted(table, 1)
        assert table.get_cell("alice", "Left") == "06:39"


async def test_a_datatable_with_other_caches_still_paints_the_change() -> None:
    app = TableApp()
    async with app.run_test() as pilot:
        table = app.query_one(CountdownTable)
        await pilot.pause()
        painted(table, 0)
        table._line_cache = None  # type: ignore[assignment]  # as if Textual changed it
        table.update_live_cells([("alice", "Left", "06:38")])
        table._line_cache = type(table._row_render_cache)(1000)  # type: ignore[assignment]
        await pilot.pause()
        assert "06:38" in painted(table, 0)


async def test_the_no_match_note_goes_away_when_the_filter_matches_again(tmp_path) -> None:
    from pilot_helpers import wait_for
    from test_snapshots import DASHBOARD_ACCOUNTS, make_snapshot_app
    from textual.widgets import Input, Static

    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: len(app.dashboard._rows) == 5)
        note = app.dashboard.query_one("#last-result", Static)
        app.dashboard.query_one("#filter", Input).value = "zz"
        await wait_for(pilot, lambda: "No account matches" in str(note.render()))
        app.dashboard.query_one("#filter", Input).value = "per"
        await wait_for(pilot, lambda: app.dashboard._rows == ["personal"])
        assert "No account matches" not in str(note.render())

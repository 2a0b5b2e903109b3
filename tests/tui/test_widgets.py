"""The shared widgets, in a real Textual app."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from ringplus_tui.tui.widgets import CountdownTable, KeysFooter


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
    from textual.widgets import Input, Static

    from tests.helpers.pilot_helpers import wait_for
    from tests.snapshots.test_snapshots import DASHBOARD_ACCOUNTS, make_snapshot_app

    app = make_snapshot_app(tmp_path, DASHBOARD_ACCOUNTS)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: len(app.dashboard.rows) == 5)
        note = app.dashboard.query_one("#last-result", Static)
        app.dashboard.query_one("#filter", Input).value = "zz"
        await wait_for(pilot, lambda: "No account matches" in str(note.render()))
        app.dashboard.query_one("#filter", Input).value = "per"
        await wait_for(pilot, lambda: list(app.dashboard.rows) == ["personal"])
        assert "No account matches" not in str(note.render())


class FooterApp(App[None]):
    BINDINGS = [Binding("r", "refresh", "Refresh"), Binding("x", "remove", "Remove")]
    removable = True

    def compose(self) -> ComposeResult:
        yield Button("one")
        yield Button("two")
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return None if action == "remove" and not self.removable else True

    def action_refresh(self) -> None: ...

    def action_remove(self) -> None: ...


def footer_keys(app: App[None]) -> dict[str, bool]:
    """The footer's keys as a person sees them: label, and whether it is usable."""
    keys = app.screen.query(FooterKey)
    return {k.description: not k.has_class("-disabled") for k in keys if k.description != "palette"}


async def test_the_footer_shows_a_key_that_becomes_unusable_as_dimmed_and_back() -> None:
    app = FooterApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert footer_keys(app) == {"Refresh": True, "Remove": True}
        await pilot.press("tab")  # focus moves; the keys stay as they were
        await pilot.pause()
        assert footer_keys(app) == {"Refresh": True, "Remove": True}
        app.removable = False
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert footer_keys(app) == {"Refresh": True, "Remove": False}
        app.removable = True
        app.screen.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert footer_keys(app) == {"Refresh": True, "Remove": True}

"""The dashboard hears every tick and account event, also under a dialog, and an
account's change redraws that account's row only. Pilot, the real app."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static

from ringplus_tui.core.models import RINGPLUS, Account, AppConfig
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import Settings, SettingsStore
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.tui.screens.account import AccountScreen
from ringplus_tui.tui.screens.modals import ConfirmModal
from ringplus_tui.tui.widgets import CountdownTable
from tests.helpers.flows import ALICE, prepare
from tests.helpers.pilot_helpers import wait_for


class Clock:
    """A clock the test moves, UTC epoch seconds."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


def plain(cell: object) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def offline_app(tmp_path: Path, clock: Clock) -> RingPlusApp:
    """Two accounts that expire in 400 s and 2 h; nothing refreshes by itself."""
    app = AppConfig("ringplus", "rp-client", "https://example.org/cb", ("read",), RINGPLUS)
    accounts = {
        name: Account(
            name=name,
            app="ringplus",
            expires_at=clock.now + left,
            obtained_at=clock.now - 60,
            has_refresh_token=True,
        )
        for name, left in (("work", 400), ("home", 7200))
    }
    SettingsStore(tmp_path).save(Settings(apps={"ringplus": app}, accounts=accounts))
    service = OAuthService(SettingsStore(tmp_path), MemorySecretStore(), clock=clock)
    return RingPlusApp(service, clock=clock, refresh_automatically=False)


async def test_countdowns_keep_running_behind_a_confirm_dialog(tmp_path: Path) -> None:
    clock = Clock()
    app = offline_app(tmp_path, clock)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.dashboard.query_one(DataTable)
        await pilot.pause()
        assert plain(table.get_cell("work", "Left")) == "06:40"
        app.push_screen(ConfirmModal("Sure?", "A question over the dashboard.", confirm="Yes"))
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        seen = []
        for _ in range(3):
            clock.now += 1
            app.tick()  # the app's one tick, as its timer calls it each second
            await pilot.pause()
            seen.append(plain(table.get_cell("work", "Left")))
        assert seen == ["06:39", "06:38", "06:37"]
        assert isinstance(app.screen, ConfirmModal)  # still open: the dashboard is under it


async def test_the_account_screen_counts_down_behind_its_own_dialog(tmp_path: Path) -> None:
    clock = Clock()
    app = offline_app(tmp_path, clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        app.dashboard.query_one(DataTable).move_cursor(row=app.dashboard.rows.index("work"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        screen = app.screen
        await pilot.press("f")  # Forget asks first
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        details = screen.query_one("#details", Static)
        before = str(details.render())
        assert "06:40" in before
        clock.now += 5
        app.tick()
        await pilot.pause()
        assert "06:35" in str(details.render())


async def signed_in_app(tmp_path: Path, sandbox: Sandbox, clock: Clock) -> RingPlusApp:
    """alice, bob and carol signed in at the sandbox; the app's clock stands still."""
    service = OAuthService(SettingsStore(tmp_path), MemorySecretStore())
    await prepare(service, sandbox, "alice")
    for name in ("bob", "carol"):
        await service.add_account(name, "sandbox")
    for name in ("alice", "bob", "carol"):
        await service.sign_in_with_password(name, *ALICE)
    return RingPlusApp(service, clock=clock, refresh_automatically=False)


class Counting:
    """Counts the calls that rebuild a table's structure."""

    def __init__(self, table: CountdownTable[object]) -> None:
        self.calls: list[str] = []
        for name in ("add_row", "remove_row", "clear", "sort"):
            original = getattr(table, name)

            def counted(*args: object, _name: str = name, _f: object = original, **kw: object):  # type: ignore[no-untyped-def]
                self.calls.append(_name)
                return _f(*args, **kw)  # type: ignore[operator]

            setattr(table, name, counted)


async def test_refreshing_one_account_redraws_only_its_row(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    app = await signed_in_app(tmp_path, sandbox, clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(CountdownTable)
        others = {n: table.get_row(n) for n in ("alice", "carol")}
        bob_before = list(table.get_row("bob"))
        counting = Counting(table)
        table.move_cursor(row=app.dashboard.rows.index("bob"))
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: (
                "Refreshed bob" in str(app.dashboard.query_one("#last-result", Static).render())
            ),
        )
        for _ in range(2):  # two ticks: the sort by expiry comes with one of them
            app.tick()
            await pilot.pause()
        assert [c for c in counting.calls if c != "sort"] == []  # no row added, none cleared
        assert counting.calls.count("sort") <= 1
        for name, cells in others.items():
            now = table.get_row(name)
            assert all(a is b for a, b in zip(now, cells, strict=True)), name
        bob = table.get_row("bob")
        assert plain(bob[7]) != plain(bob_before[7])  # its "Refreshed" time is new
        assert app.dashboard.rows[-1] == "bob"  # latest expiry last: sorted once
        assert app.dashboard.selected == "bob"  # the cursor stayed on its account


async def test_refresh_all_touches_no_row_structure_and_sorts_once_at_the_end(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    app = await signed_in_app(tmp_path, sandbox, clock)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(CountdownTable)
        table.move_cursor(row=app.dashboard.rows.index("alice"))
        counting = Counting(table)
        await pilot.press("R")
        await wait_for(
            pilot,
            lambda: (
                "Refreshed 3 of 3 accounts"
                in str(app.dashboard.query_one("#last-result", Static).render())
            ),
        )
        assert [c for c in counting.calls if c != "sort"] == []
        assert counting.calls.count("sort") <= 1
        assert all(plain(table.get_row(n)[1]) == "valid" for n in ("alice", "bob", "carol"))
        assert app.dashboard.selected == "alice"
        assert sandbox.token_requests.count("refresh_token") == 3

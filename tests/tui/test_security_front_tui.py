"""Provider text is never Textual markup (issue 15, finding 3): names and messages
from outside are shown as written, never crash a screen, and a ``[@click=…]`` in them
does nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable, Static

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import SettingsStore
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.tui.messages import OpenAccount
from ringplus_tui.tui.screens.account import AccountScreen
from tests.helpers.pilot_helpers import wait_for

CLOSER = "[/] Alice"
CLICK = "[@click=app.screenshot('x.svg','{dir}')]x"


def _cells(app: RingPlusApp) -> dict[str, list[str]]:
    table = app.dashboard.query_one(DataTable)
    out = {}
    for index in range(table.row_count):
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(index)]
        out[cells[0]] = cells
    return out


def _service(config_dir: Path, users: dict[str, str]) -> OAuthService:
    with Sandbox() as sandbox:
        app = sandbox.demo_app()
    now = time.time()
    settings = SettingsStore(config_dir)

    def change(s):  # type: ignore[no-untyped-def]
        s = s.with_app(app)
        for name, user in users.items():
            s = s.with_account(
                Account(
                    name=name,
                    app=app.name,
                    expires_at=now + 3600,
                    obtained_at=now,
                    token_type="Bearer",
                    user=user,
                )
            )
        return s

    settings.update(change)
    return OAuthService(SettingsStore(config_dir), MemorySecretStore())


@pytest.fixture
def click_dir(tmp_path: Path) -> Path:
    target = tmp_path / "clicked"
    target.mkdir()
    return target


async def test_a_markup_user_name_is_shown_literally_and_clicking_it_does_nothing(
    config_dir: Path, click_dir: Path
) -> None:
    click = CLICK.format(dir=click_dir)
    service = _service(config_dir, {"alice": CLOSER, "bob": click})
    app = RingPlusApp(service)
    async with app.run_test(size=(160, 30), notifications=True) as pilot:
        await pilot.pause()
        cells = _cells(app)
        assert cells["alice"][5] == CLOSER
        assert cells["bob"][5] == click
        table = app.dashboard.query_one(DataTable)
        rendered = app.dashboard.query_one(DataTable).render_lines(table.region)  # draws
        assert rendered
        for row in range(table.row_count):  # click every cell of the User column
            table.move_cursor(row=row, column=5)
            await pilot.click(DataTable, offset=(table.region.width // 2, row + 1))
            await pilot.pause()
        assert list(click_dir.iterdir()) == []
        assert not app._exception


async def test_the_account_screen_shows_a_markup_user_name(
    config_dir: Path, click_dir: Path
) -> None:
    service = _service(config_dir, {"alice": CLOSER})
    app = RingPlusApp(service)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await pilot.pause()
        app.post_message(OpenAccount("alice"))
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        await pilot.pause()
        details = app.screen.query_one("#details", Static).render()
        assert CLOSER in str(details)
        assert not app._exception


async def test_a_notification_with_markup_shows_the_real_words(config_dir: Path) -> None:
    service = _service(config_dir, {})
    app = RingPlusApp(service)
    error = RingPlusError("The provider said: [/] bad [@click=app.quit]request[/]", title="Oops")
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        app.notify(error.message, title=error.title, severity="error")
        app.dashboard.notify("[b]from a screen[/b] [/]")
        await pilot.pause()
        shown = [n.message for n in app._notifications]
        assert error.message in shown
        assert "[b]from a screen[/b] [/]" in shown
        assert all(not n.markup for n in app._notifications)
        assert not any("MarkupError" in m or "Unexpected" in m for m in shown)
        assert not app._exception


async def test_an_error_on_the_dashboard_line_shows_the_real_words(config_dir: Path) -> None:
    service = _service(config_dir, {})
    app = RingPlusApp(service)
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await pilot.pause()
        app.dashboard.report("alice: Refused. [/] the provider's words", error=True)
        await pilot.pause()
        line = str(app.dashboard.query_one("#last-result", Static).render())
        assert "[/] the provider's words" in line
        assert not app._exception

"""At 80x24, the size the Quick start is usually tried at, no dialog hides a button."""

from __future__ import annotations

from textual.app import App
from textual.widgets import Button

from ringplus_tui.tui.screens.modals import PasswordModal
from tests.helpers.pilot_helpers import wait_for

LONG_HINT = (
    "Sandbox: sign in as alice@example.com / alice-pass or bob@example.com / bob-pass. "
    "The password goes to the provider's own sign-in page, and only there. " * 3
)


async def test_the_password_dialogs_buttons_can_be_reached_at_80x24() -> None:
    app: App[None] = App()
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(PasswordModal("alice", hint=LONG_HINT))
        await wait_for(pilot, lambda: bool(app.screen.query("#ok")))
        for button_id in ("#ok", "#cancel"):
            button = app.screen.query_one(button_id, Button)
            button.focus()
            await pilot.pause()
            region = button.region
            assert region.height > 0 and region.bottom <= 24, (button_id, region)
            assert app.screen.get_widget_at(region.x + 1, region.y + 1)[0] is button

"""The whole sign-in, driven through the real app with Pilot, against the sandbox.

The test plays the person: it types the client secret, reads the authorization
URL off the screen, lets an HTTP client act as the browser (sign-in form,
consent), pastes the redirected URL, and reads the dashboard.
"""

from __future__ import annotations

import asyncio
import re

from rich.text import Text
from textual import events
from textual.widgets import DataTable, Input, Static

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.store.secret_store import access_token_key
from ringplus_tui.tui.factory import make_app
from ringplus_tui.tui.screens.authorize import AuthorizeScreen
from ringplus_tui.tui.screens.credentials import CredentialsScreen
from ringplus_tui.tui.screens.dashboard import DashboardScreen
from ringplus_tui.tui.widgets import PasteInput
from tests.helpers.browser import sign_in_and_consent
from tests.helpers.pilot_helpers import sandbox_prefill, wait_for

ALICE = ("alice@example.com", "alice-pass")


def row_cells(app) -> list[str]:
    table = app.screen.query_one(DataTable)
    return [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(0)]


async def reach_authorize(pilot, app, sandbox: Sandbox) -> str:
    """Enter the client secret on the credentials screen; return the authorization URL."""
    # As a person would: once the form is up (it focuses its first empty field).
    await wait_for(
        pilot, lambda: isinstance(app.screen, CredentialsScreen) and app.screen.focused is not None
    )
    intro = str(app.screen.query_one("#intro", Static).render())
    assert "Sandbox demo" in intro and "Press Ctrl+S" in intro  # what to do, said first
    secret = app.screen.query_one("#client_secret", Input)
    secret.focus()
    secret.value = sandbox.client_secret  # as typed; only the key under test is pressed
    await pilot.pause()
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, AuthorizeScreen) and app.screen.url != "")
    url = app.screen.url
    shown = app.screen.query_one("#url", Static).render()
    assert str(shown) == url  # the whole URL is on screen, nothing cut
    assert url.startswith(f"{sandbox.base_url}/oauth/authorize?")
    return url


async def paste(pilot, app, text: str) -> None:
    field = app.screen.query_one(PasteInput)
    field.focus()
    await pilot.pause()
    field.post_message(events.Paste(text))
    await pilot.pause()


async def test_sign_in_shows_valid_countdown_then_refresh_updates_expiry(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox, with_secret=False))
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        url = await reach_authorize(pilot, app, sandbox)
        redirected = await asyncio.to_thread(sign_in_and_consent, url, *ALICE)
        # A terminal may wrap a long URL over two lines: the field must keep all of it.
        await paste(pilot, app, redirected[:40] + "\n" + redirected[40:])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))

        cells = row_cells(app)
        assert cells[0] == "alice"
        assert cells[5] == "Alice Example"  # from the API's GET /users/me
        assert cells[6] == "2"  # phone lines, from GET /accounts
        assert cells[1] == "valid"
        assert re.fullmatch(r"59:5\d|1h 00m", cells[2]), cells
        first_countdown = cells[2]
        await wait_for(pilot, lambda: row_cells(app)[2] != first_countdown)  # it counts down

        old_token = secret_store.get(access_token_key("alice"))
        old_expiry = app.service.settings.accounts["alice"].expires_at
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.service.settings.accounts["alice"].expires_at != old_expiry
        )
        await pilot.pause()
        assert secret_store.get(access_token_key("alice")) != old_token
        result = str(app.screen.query_one("#last-result", Static).render())
        assert "Refreshed alice: new expiry" in result
        assert sandbox.token_requests == ["authorization_code", "refresh_token"]


async def test_deny_shows_access_denied_and_stores_nothing(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox, with_secret=False))
    async with app.run_test(size=(100, 40)) as pilot:
        url = await reach_authorize(pilot, app, sandbox)
        redirected = await asyncio.to_thread(sign_in_and_consent, url, *ALICE, allow=False)
        await paste(pilot, app, redirected)
        await pilot.press("enter")
        message = app.screen.query_one("#message", Static)
        await wait_for(pilot, lambda: "Access denied" in str(message.render()))

        assert isinstance(app.screen, AuthorizeScreen)  # the person can retry from here
        assert "access_denied" in str(message.render())
        assert sandbox.token_requests == []
        assert secret_store.get(access_token_key("alice")) is None
        assert not app.service.settings.accounts["alice"].signed_in


async def test_invalid_credentials_are_shown_next_to_the_field(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        field = app.screen.query_one("#redirect_uri", Input)
        field.value = "www.ringplus.net/callback"
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = app.screen.query_one("#redirect_uri-error", Static)
        assert "must be a full URL starting with https://" in str(error.render())
        assert isinstance(app.screen, CredentialsScreen)
        assert app.service.settings.apps == {}  # nothing was saved


async def test_the_authorize_screen_counts_down_the_time_left_and_never_listens_on_the_sandbox(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    import time

    now = [time.time()]  # the app's one timer ticks with this clock
    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox), clock=lambda: now[0])
    async with app.run_test() as pilot:
        await reach_authorize(pilot, app, sandbox)
        screen = app.screen
        left = screen.query_one("#open-for", Static)
        assert "10:00" in str(left.render())
        now[0] = screen.pending.expires_at - 61
        await wait_for(pilot, lambda: "01:01" in str(left.render()))
        now[0] = screen.pending.expires_at + 1
        await wait_for(pilot, lambda: "expired" in str(left.render()))
        # The sandbox serves its own redirect page: no "port in use" warning.
        assert not screen.query_one("#listening").display


async def test_editing_the_app_of_a_signed_in_account_says_save_and_keeps_its_token(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.tui.screens.apps import AppsScreen
    from tests.tui.test_widgets import footer_keys

    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox, with_secret=False))
    async with app.run_test(size=(100, 40)) as pilot:
        url = await reach_authorize(pilot, app, sandbox)
        redirected = await asyncio.to_thread(sign_in_and_consent, url, *ALICE)
        await paste(pilot, app, redirected)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        token = secret_store.get(access_token_key("alice"))
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AppsScreen))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.pause()
        intro = str(app.screen.query_one("#intro", Static).render())
        assert intro.startswith("Edit the app 'sandbox'. Saving keeps the tokens")
        labels = footer_keys(app)
        assert "Save" in labels and "Save and sign in" not in labels
        assert str(app.screen.query_one("#save").label) == "Save"

        account = app.screen.query_one("#account", Input)
        account.value = "someone-new"  # an account without a token: saving signs it in
        await pilot.pause()
        await pilot.pause()
        assert "Save and sign in" in footer_keys(app)
        account.value = "alice"
        await pilot.pause()
        await pilot.pause()

        app.screen.query_one("#scopes", Input).value = "read write"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, AppsScreen))
        assert app.service.settings.apps["sandbox"].scopes == ("read", "write")
        assert secret_store.get(access_token_key("alice")) == token  # kept, no sign-in


async def test_the_form_starts_on_the_first_empty_field_and_lights_only_the_focused_label(
    config_dir,
) -> None:
    from ringplus_tui.core.prefill import EMPTY_PREFILL
    from ringplus_tui.store.secret_store import MemorySecretStore

    app = make_app(config_dir, MemorySecretStore(), prefill=EMPTY_PREFILL)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.pause()

        def lit() -> list[str]:
            return [str(label.render()) for label in app.screen.query(".row.-focused .label")]

        assert app.screen.focused is not None and app.screen.focused.id == "client_id"
        assert lit() == ["Client ID"]
        await pilot.press("tab")
        await pilot.pause()
        assert lit() == ["Client secret"]
        await pilot.press("shift+tab", "shift+tab")
        await pilot.pause()
        assert lit() == ["Provider"]


async def test_the_sandbox_demo_signs_in_with_enter_on_the_focused_save_button(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox))
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, CredentialsScreen) and app.screen.focused is not None,
        )
        assert app.screen.focused.id == "save"  # every field is filled in
        await pilot.pause()
        assert app.screen.query_one("#form").scroll_y == 0  # the intro stays in view
        await pilot.press("tab", "tab")  # Cancel, then round to the first field
        assert app.screen.focused.id == "name"
        await pilot.press("shift+tab", "shift+tab")
        assert app.screen.focused.id == "save"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AuthorizeScreen) and app.screen.url)


async def test_a_paste_with_a_button_focused_lands_in_the_url_field_and_signs_in(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    """The screen's one job is to receive the redirected URL: a paste is never lost."""
    from textual.widgets import Button

    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox, with_secret=False))
    async with app.run_test(size=(100, 40)) as pilot:
        url = await reach_authorize(pilot, app, sandbox)
        redirected = await asyncio.to_thread(sign_in_and_consent, url, *ALICE)
        app.screen.query(Button).first().focus()
        await pilot.pause()
        app.post_message(events.Paste(redirected))  # as the terminal sends it
        field = app.screen.query_one(PasteInput)
        await wait_for(pilot, lambda: field.value == redirected)
        assert app.screen.focused is field
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        assert secret_store.get(access_token_key("alice"))


async def test_a_stray_q_keeps_the_sign_in_and_start_over_refocuses_the_url_field(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    """With a button focused, q says how to leave instead of quitting mid-sign-in; Start
    over puts the focus back where the next paste goes."""
    from textual.widgets import Button

    app = make_app(config_dir, secret_store, prefill=sandbox_prefill(sandbox, with_secret=False))
    async with app.run_test(size=(100, 40), notifications=True) as pilot:
        await reach_authorize(pilot, app, sandbox)
        screen = app.screen
        screen.query(Button).first().focus()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        assert any("Escape cancels" in str(n.message) for n in app._notifications)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.screen.focused is app.screen.query_one(PasteInput))

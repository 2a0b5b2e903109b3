"""The app with a provider other than RingPlus, driven with Pilot against django-oauth-toolkit.

The person types an issuer URL and presses Discover, enters a public client's ID and
a loopback redirect URI, and saves. The authorize screen then listens on that
address; the test plays the browser, which ends on the listener, and the dashboard
shows the account signed in as the person the verified id_token names.
"""

from __future__ import annotations

import asyncio
import socket

import httpx2
from rich.text import Text
from textual.widgets import DataTable, Input, Select, Static

from ringplus_tui.core.prefill import EMPTY_PREFILL
from ringplus_tui.tui.factory import make_app
from ringplus_tui.tui.screens.authorize import AuthorizeScreen
from ringplus_tui.tui.screens.credentials import CredentialsScreen
from ringplus_tui.tui.screens.dashboard import DashboardScreen
from tests.helpers.dot_provider import DotServer, dot_sign_in_and_consent
from tests.helpers.pilot_helpers import wait_for
from tests.helpers.ports import free_port


async def type_into(pilot, app, field: str, text: str) -> None:
    widget = app.screen.query_one(f"#{field}", Input)
    widget.focus()
    widget.value = text  # as typed; only the keys under test are pressed
    await pilot.pause()


async def discover(pilot, app, issuer: str, *, secret: str = "", press_button: bool = False):
    """On the credentials screen: choose another provider, name the app 'work', type the
    client secret (if any) and the issuer, and discover (Enter, or the button)."""
    await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
    screen = app.screen
    screen.query_one("#provider", Select).value = "custom"
    await pilot.pause()
    await type_into(pilot, app, "name", "work")
    if secret:
        await type_into(pilot, app, "client_secret", secret)
    await type_into(pilot, app, "issuer", issuer)
    if press_button:
        screen.query_one("#discover").press()
    else:
        await pilot.press("enter")  # Enter in the Issuer field discovers
    await wait_for(
        pilot, lambda: screen.query_one("#token_endpoint", Input).value.endswith("/token/")
    )
    return screen


async def save_and_authorize(
    pilot, app, *, client_id: str, redirect_uri: str, scopes: str = ""
) -> AuthorizeScreen:
    """Fill in the rest of the form for the account 'jane', save, wait for the URL."""
    await type_into(pilot, app, "client_id", client_id)
    await type_into(pilot, app, "redirect_uri", redirect_uri)
    if scopes:
        await type_into(pilot, app, "scopes", scopes)
    await type_into(pilot, app, "account", "jane")
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, AuthorizeScreen) and app.screen.url)
    screen: AuthorizeScreen = app.screen
    return screen


async def test_discover_then_sign_in_through_the_loopback_listener(
    config_dir, secret_store, dot: DotServer
) -> None:
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    client_id, _ = await asyncio.to_thread(dot.register_client, "public", redirect_uri)
    app = make_app(config_dir, secret_store)
    async with app.run_test(size=(110, 40)) as pilot:
        screen = await discover(pilot, app, dot.issuer)
        found = str(screen.query_one("#discovered", Static).render())
        assert "RFC 9207" in found and "public client" in found
        assert screen.query_one("#token_endpoint_auth_method", Select).value == "none"
        authorize = await save_and_authorize(
            pilot,
            app,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes="openid profile email",
        )
        await wait_for(
            pilot, lambda: "Listening on" in str(authorize.query_one("#listening").render())
        )
        redirected = await asyncio.to_thread(dot_sign_in_and_consent, authorize.url)
        async with httpx2.AsyncClient() as browser:
            page = await browser.get(redirected)
        assert "You can close this tab" in page.text

        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 1)
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(0)]
        assert cells[0] == "jane"
        assert "valid" in cells[1]
        assert any(c.startswith("Alice Example") for c in cells)  # from the id_token
    stored = app.service.settings.app("work")
    assert stored.public and stored.provider.issuer == dot.issuer
    assert secret_store.get("app:work:client_secret") is None


async def test_a_busy_redirect_port_is_explained_and_pasting_still_works(
    config_dir, secret_store, dot: DotServer
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        redirect_uri = f"http://127.0.0.1:{taken.getsockname()[1]}/callback"
        client_id, secret = await asyncio.to_thread(
            dot.register_client, "confidential", redirect_uri
        )
        app = make_app(config_dir, secret_store, prefill=EMPTY_PREFILL)
        async with app.run_test(size=(110, 40)) as pilot:
            screen = await discover(pilot, app, dot.issuer, secret=secret or "", press_button=True)
            assert screen.query_one("#token_endpoint_auth_method", Select).value == (
                "client_secret_basic"
            )
            authorize = await save_and_authorize(
                pilot, app, client_id=client_id, redirect_uri=redirect_uri
            )
            listening = authorize.query_one("#listening")
            await wait_for(pilot, lambda: "in use" in str(listening.render()))
            assert "Paste" in str(listening.render())
            redirected = await asyncio.to_thread(dot_sign_in_and_consent, authorize.url)
            field = authorize.query_one("#redirected", Input)
            field.value = redirected
            field.focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen))
            assert app.service.settings.account("jane").signed_in


async def test_another_providers_app_is_named_after_its_issuer_unless_named(
    config_dir, secret_store, dot: DotServer
) -> None:
    app = make_app(config_dir, secret_store, prefill=EMPTY_PREFILL)
    async with app.run_test(size=(100, 50)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        screen = app.screen
        name = screen.query_one("#name", Input)
        assert name.value == "ringplus"
        await pilot.pause()
        screen.query_one("#provider", Select).value = "custom"
        await wait_for(pilot, lambda: name.value == "")  # not "ringplus" for another provider
        await type_into(pilot, app, "issuer", dot.issuer)
        await pilot.press("enter")
        await wait_for(pilot, lambda: name.value != "")
        assert name.value == "127.0.0.1"  # the issuer's host
        screen.query_one("#provider", Select).value = "ringplus"
        await wait_for(pilot, lambda: not screen.query_one("#custom").display)
        assert name.value == "127.0.0.1"  # a name in the field is the person's to change

    app = make_app(config_dir, secret_store, prefill=EMPTY_PREFILL)
    async with app.run_test(size=(100, 50)) as pilot:
        await discover(pilot, app, dot.issuer)  # names the app 'work' first
        assert app.screen.query_one("#name", Input).value == "work"

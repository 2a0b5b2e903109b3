"""Several accounts on two apps, driven through the real app with Pilot against two sandboxes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx2
import pytest
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key
from ringplus_tui.store.settings import SettingsStore
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.tui.screens.account import AccountScreen
from ringplus_tui.tui.screens.modals import ConfirmModal, TextModal
from tests.helpers.browser import sign_in_and_consent
from tests.helpers.pilot_helpers import wait_for

USERS = {"alice": ("alice@example.com", "alice-pass"), "bob": ("bob@example.com", "bob-pass")}


@pytest.fixture
def second_sandbox() -> Iterator[Sandbox]:
    with Sandbox(token_lifetime=3600, rotate_refresh_tokens=True) as running:
        yield running


async def signed_in_service(config_dir, secret_store, first: Sandbox, second: Sandbox, clock):
    """alice and bob through app 'one' (first sandbox), carol through app 'two'."""
    service = OAuthService(SettingsStore(config_dir), secret_store, clock=clock)
    await service.save_app(first.demo_app("one"), first.client_secret)
    await service.save_app(second.demo_app("two"), second.client_secret)
    for name, app, user in (
        ("alice", "one", "alice"),
        ("bob", "one", "bob"),
        ("carol", "two", "alice"),
    ):
        await service.add_account(name, app)
        pending = await service.start_authorization(name)
        redirected = await asyncio.to_thread(
            sign_in_and_consent, pending.authorization_url, *USERS[user]
        )
        await service.complete_authorization(redirected)
    return service


LONG_WAIT = 60.0
"""Seconds a step of the long walk below may take before the test fails."""


def rows(app: RingPlusApp) -> dict[str, list[str]]:
    table = app.dashboard.query_one(DataTable)
    out = {}
    for index in range(table.row_count):
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(index)]
        out[cells[0]] = cells
    return out


def select(app: RingPlusApp, name: str) -> None:
    app.dashboard.query_one(DataTable).move_cursor(row=app.dashboard.rows.index(name))


async def test_three_accounts_refresh_one_refresh_all_rename_revoke_remove(
    config_dir, secret_store, sandbox: Sandbox, second_sandbox: Sandbox
) -> None:
    service = await signed_in_service(
        config_dir, secret_store, sandbox, second_sandbox, clock=time.time
    )
    app = RingPlusApp(service)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:

        async def until(condition) -> None:  # type: ignore[no-untyped-def]
            """Generous: this walk runs many steps against two providers on a busy machine."""
            await wait_for(pilot, condition, seconds=LONG_WAIT)

        await until(lambda: set(rows(app)) == {"alice", "bob", "carol"})
        table = rows(app)
        assert set(table) == {"alice", "bob", "carol"}
        assert table["bob"][5] == "Bob Example" and table["carol"][4] == "two"
        assert all(row[1] == "valid" for row in table.values())

        # Refresh one.
        select(app, "bob")
        before = secret_store.get(access_token_key("bob"))
        await pilot.press("r")
        await until(lambda: secret_store.get(access_token_key("bob")) != before)
        await until(lambda: not app.live.busy)  # the token is stored before the end
        assert sandbox.token_requests.count("refresh_token") == 1

        # Refresh all: every account, on both providers.
        await pilot.press("R")
        await until(
            lambda: (
                "Refreshed 3 of 3 accounts"
                in str(app.dashboard.query_one("#last-result", Static).render())
            ),
        )
        assert sandbox.token_requests.count("refresh_token") == 3
        assert second_sandbox.token_requests.count("refresh_token") == 1

        # Rename carol from her account screen.
        select(app, "carol")
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, AccountScreen))
        await pilot.press("n")
        await until(lambda: isinstance(app.screen, TextModal))
        app.screen.query_one(Input).value = "carol-work"
        await pilot.press("enter")
        await until(lambda: "carol-work" in service.settings.accounts)
        assert "carol" not in service.settings.accounts
        assert secret_store.get(access_token_key("carol-work"))
        # The screen follows the new name once the rename is done (the tokens move last).
        await until(lambda: getattr(app.screen, "account", None) == "carol-work")

        # Revoke: asks first, then the provider refuses the old token.
        token = secret_store.get(access_token_key("carol-work"))
        await pilot.press("x")
        await until(lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#yes")
        await until(lambda: not service.settings.accounts["carol-work"].signed_in)
        async with httpx2.AsyncClient() as client:
            me = await client.get(
                f"{second_sandbox.base_url}/users/me",
                headers={"Authorization": f"Bearer {token}"},
            )
        assert me.status_code == 401
        assert secret_store.get(access_token_key("carol-work")) is None

        # Remove the account: asks first, then it is gone from the dashboard.
        await pilot.press("d")
        await until(lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#yes")
        await until(lambda: app.screen is app.dashboard)
        await until(lambda: set(rows(app)) == {"alice", "bob"})
        assert set(rows(app)) == {"alice", "bob"}


async def test_rejected_refresh_token_turns_row_needs_sign_in(
    config_dir, secret_store, sandbox: Sandbox, second_sandbox: Sandbox
) -> None:
    service = await signed_in_service(
        config_dir, secret_store, sandbox, second_sandbox, clock=time.time
    )
    app = RingPlusApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        sandbox.revoke_all_tokens()
        before = secret_store.get(access_token_key("alice"))
        select(app, "alice")
        await pilot.press("r")
        await wait_for(pilot, lambda: rows(app)["alice"][1].startswith("needs-sign-in"))
        assert secret_store.get(access_token_key("alice")) == before  # kept
        assert rows(app)["carol"][1] == "valid"  # other accounts untouched


async def test_automatic_refresh_before_expiry(
    config_dir, secret_store, sandbox: Sandbox, second_sandbox: Sandbox
) -> None:
    """With the clock moved to 5 minutes before expiry, the app refreshes by itself."""
    offset = [0.0]
    service = await signed_in_service(
        config_dir, secret_store, sandbox, second_sandbox, clock=lambda: time.time() + offset[0]
    )
    app = RingPlusApp(service, clock=service.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.5)
        assert sandbox.token_requests.count("refresh_token") == 0  # not due yet
        offset[0] = 3600 - 300  # margin for a 1-hour token is 6 minutes
        try:
            await wait_for(pilot, lambda: sandbox.token_requests.count("refresh_token") >= 2)
            await wait_for(pilot, lambda: second_sandbox.token_requests.count("refresh_token") >= 1)
        except AssertionError:
            raise AssertionError(
                f"requests {sandbox.token_requests} {second_sandbox.token_requests}, "
                f"errors {app.board.errors}"
            ) from None
        assert sandbox.token_requests.count("refresh_token") == 2
        await pilot.pause(1.5)
        assert all(row[1] == "valid" for row in rows(app).values())
        assert sandbox.token_requests.count("refresh_token") == 2  # and no loop


async def test_add_an_account_to_an_existing_app_from_the_dashboard(
    config_dir, secret_store, sandbox: Sandbox, second_sandbox: Sandbox
) -> None:
    """a → name it and keep the existing app → the authorize screen → the new row."""
    from textual import events

    from ringplus_tui.tui.screens.authorize import AuthorizeScreen
    from ringplus_tui.tui.screens.modals import AddAccountModal
    from ringplus_tui.tui.widgets import PasteInput

    service = await signed_in_service(
        config_dir, secret_store, sandbox, second_sandbox, clock=time.time
    )
    app = RingPlusApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        select(app, "alice")  # app "one" is preselected from the selected row
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AddAccountModal))
        app.screen.query_one("#name", Input).value = "dora"
        await pilot.click("#ok")
        await wait_for(pilot, lambda: isinstance(app.screen, AuthorizeScreen) and app.screen.url)
        redirected = await asyncio.to_thread(sign_in_and_consent, app.screen.url, *USERS["bob"])
        field = app.screen.query_one(PasteInput)
        field.focus()
        field.post_message(events.Paste(redirected))
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.dashboard)
        await wait_for(pilot, lambda: "dora" in rows(app))
        # Its row appeared when it was added (signed out), and turns valid in place.
        await wait_for(pilot, lambda: rows(app)["dora"][1] != "signed-out")
        assert rows(app)["dora"][4] == "one"
        assert rows(app)["dora"][1] == "valid"
        assert service.settings.accounts["dora"].user == "Bob Example <bob@example.com>"


async def one_app_and_alice(config_dir, secret_store, sandbox: Sandbox) -> OAuthService:
    """App 'one' on the sandbox and the account 'alice', not signed in."""
    service = OAuthService(SettingsStore(config_dir), secret_store)
    await service.save_app(sandbox.demo_app("one"), sandbox.client_secret)
    await service.add_account("alice", "one")
    return service


async def run_from_palette(pilot, app: RingPlusApp, text: str) -> None:
    """Open the command palette, type ``text`` and run the first command it finds."""
    from textual.command import CommandPalette

    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
    app.screen.query_one(Input).value = text  # as typed
    await pilot.pause(0.5)  # the palette searches its providers
    await pilot.press("enter")


async def test_the_command_palette_offers_the_keys_of_the_screen_it_was_opened_on(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.tui.screens.apps import AppsScreen

    app = RingPlusApp(await one_app_and_alice(config_dir, secret_store, sandbox))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("A")
        await wait_for(pilot, lambda: isinstance(app.screen, AppsScreen))
        await run_from_palette(pilot, app, "rename")
        await wait_for(pilot, lambda: isinstance(app.screen, TextModal))
        assert app.screen.query_one(Input).value == "one"  # renaming the selected app


async def test_the_account_screens_palette_has_its_keys_also_those_off_the_footer(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    service = await one_app_and_alice(config_dir, secret_store, sandbox)
    app = RingPlusApp(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Reveal", "Copy", "Back", "Auto", "Revoke"} <= set(titles)
        before = service.settings.accounts["alice"].auto_refresh
        await run_from_palette(pilot, app, "auto")
        await wait_for(pilot, lambda: service.settings.accounts["alice"].auto_refresh != before)

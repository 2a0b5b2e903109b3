"""One pending sign-in per account, shared by the dashboard and the command line, and a
pasted URL completes only the account being signed in (issue 16, item 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import events
from textual.widgets import Static

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import (
    MemorySecretStore,
    access_token_key,
    pending_key,
)
from ringplus_tui.store.settings import SettingsStore
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.tui.screens.authorize import AuthorizeScreen
from ringplus_tui.tui.widgets import PasteInput
from tests.helpers.cli import Cli
from tests.helpers.flows import browse, prepare
from tests.helpers.pilot_helpers import wait_for


async def _two_accounts(config_dir: Path, store, sandbox: Sandbox) -> OAuthService:
    service = OAuthService(SettingsStore(config_dir), store)
    await prepare(service, sandbox, "alice")
    await service.add_account("bob", "sandbox")
    return service


async def _authorize_screen(pilot, app: RingPlusApp, account: str) -> AuthorizeScreen:
    screen = AuthorizeScreen(app.service, account)
    app.push_screen(screen)
    await wait_for(pilot, lambda: app.screen is screen and screen.url != "")
    return screen


async def _paste_and_submit(pilot, screen: AuthorizeScreen, text: str) -> None:
    field = screen.query_one(PasteInput)
    field.focus()
    await pilot.pause()
    field.post_message(events.Paste(text))
    await pilot.pause()
    await pilot.press("enter")


def _said(screen: AuthorizeScreen, widget: str = "#message") -> str:
    return str(screen.query_one(widget, Static).render())


async def test_alices_url_on_bobs_screen_is_refused_naming_alice(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    store = MemorySecretStore()
    service = await _two_accounts(tmp_path, store, sandbox)
    app = RingPlusApp(service, refresh_automatically=False)
    async with app.run_test(size=(120, 40)) as pilot:
        alice = await service.start_authorization("alice")  # e.g. from another screen
        redirected = await browse(alice.authorization_url)
        app.live.board.errors["bob"] = "An earlier failure."  # must not be cleared
        screen = await _authorize_screen(pilot, app, "bob")
        await _paste_and_submit(pilot, screen, redirected)
        await wait_for(pilot, lambda: "alice" in _said(screen))

        assert app.screen is screen  # bob is still being signed in
        assert "not of 'bob'" in _said(screen) and "nothing was changed" in _said(screen)
        assert sandbox.token_requests == []  # the code was not exchanged
        for name in ("alice", "bob"):
            assert store.get(access_token_key(name)) is None
            assert not service.settings.accounts[name].signed_in
        assert service.pending("alice") == alice  # alice's sign-in is still open
        assert app.live.board.errors["bob"] == "An earlier failure."

    again = OAuthService(SettingsStore(tmp_path), store)
    try:
        signed = await again.complete_authorization(redirected, "alice")  # still usable
        assert signed.name == "alice" and signed.signed_in
    finally:
        await again.aclose()
        await service.aclose()


async def test_escape_and_start_over_drop_the_pending_sign_in(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    store = MemorySecretStore()
    service = await _two_accounts(tmp_path, store, sandbox)
    app = RingPlusApp(service, refresh_automatically=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _authorize_screen(pilot, app, "bob")
        first = screen.url
        await pilot.press("ctrl+r")  # Start over
        await wait_for(pilot, lambda: screen.url != first)
        old = await browse(first)
        await _paste_and_submit(pilot, screen, old)
        await wait_for(pilot, lambda: "Unknown or expired sign-in" in _said(screen))
        assert sandbox.token_requests == []

        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is not screen)
        assert service.pending("bob") is None
        assert store.get(pending_key("bob")) is None
    await service.aclose()


async def test_after_a_deny_the_screen_no_longer_says_the_sign_in_stays_open(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    store = MemorySecretStore()
    service = await _two_accounts(tmp_path, store, sandbox)
    app = RingPlusApp(service, refresh_automatically=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _authorize_screen(pilot, app, "bob")
        assert "stays open" in _said(screen, "#open-for")
        denied = await browse(screen.url, allow=False)
        await _paste_and_submit(pilot, screen, denied)
        await wait_for(pilot, lambda: "Access denied" in _said(screen))

        assert "stays open" not in _said(screen, "#open-for")
        assert "Start over" in _said(screen, "#open-for")
        app.tick()  # the countdown does not bring it back
        await pilot.pause()
        assert "stays open" not in _said(screen, "#open-for")
    await service.aclose()


# -- the command line ----------------------------------------------------------------


async def test_the_command_line_refuses_alices_url_for_bob_naming_alice(
    cli: Cli, config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    service = await _two_accounts(config_dir, secret_store, sandbox)
    await service.aclose()
    alice_url = (await asyncio.to_thread(cli, "authorize", "alice")).stdout.strip()
    assert (await asyncio.to_thread(cli, "authorize", "bob")).returncode == 0
    redirected = await browse(alice_url)

    refused = await asyncio.to_thread(cli, "authorize", "bob", "--redirected-url", redirected)

    assert refused.returncode == 1, refused.stderr
    assert "'alice'" in refused.stderr and "nothing was changed" in refused.stderr
    assert sandbox.token_requests == []
    assert secret_store.get(pending_key("bob")) is not None  # bob's own sign-in stays
    done = await asyncio.to_thread(cli, "authorize", "alice", "--redirected-url", redirected)
    assert done.returncode == 0, done.stderr
    assert secret_store.get(access_token_key("bob")) is None

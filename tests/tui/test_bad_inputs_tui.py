"""The catalogue, the app's part: pastes, copy, small terminals, secrets on screen, ticks.

The real app under Pilot against the sandbox on loopback; secrets in memory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ringplus_tui.core.errors import (
    AuthorizationResponseError,
)
from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.bad_inputs import open_service
from tests.helpers.flows import prepare, sign_in
from tests.helpers.pilot_helpers import wait_for

# -- 5. Textual's Input keeps only the first line of a paste ----------------------------


@pytest.mark.parametrize(
    "paste",
    [
        "\nhttp://localhost:8080/callback?code=C0DE&state=S1",
        "http://localhost:8080/callback?code=C0DE&sta\nte=S1",
        "http://localhost:8080/callback?code=C0DE&state=S1\r\n",
    ],
)
async def test_05_the_paste_field_keeps_every_line(paste: str) -> None:
    from textual import events
    from textual.app import App, ComposeResult

    from ringplus_tui.tui.widgets import PasteInput

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PasteInput()

    app = One()
    async with app.run_test() as pilot:
        field = app.query_one(PasteInput)
        field.focus()
        field.post_message(events.Paste(paste))
        await pilot.pause()
        assert field.value == "http://localhost:8080/callback?code=C0DE&state=S1"


# -- 6. paste does not work in some consoles: a path without pasting --------------------


def test_06_the_screen_names_other_paste_keys_and_the_command_line_takes_the_url() -> None:
    import inspect

    from ringplus_tui.cli import main as cli
    from ringplus_tui.tui.screens import authorize

    assert "Shift+Insert" in inspect.getsource(authorize)
    help_text = cli._parser().format_help()
    assert "authorize" in help_text
    sub = cli._parser()._subparsers._group_actions[0].choices["authorize"]  # type: ignore[union-attr]
    assert "--redirected-url" in sub.format_help() and "stdin" in sub.format_help()


# -- 32, 34 and kind 8: the UI ---------------------------------------------------------------


async def test_32_copy_does_not_promise_success(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.tui.app import RingPlusApp
    from ringplus_tui.tui.screens.account import AccountScreen

    async with open_service(config_dir, secret_store) as (service, _):
        await sign_in(service, sandbox)
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), secret_store))
    async with app.run_test(notifications=True) as pilot:
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        await wait_for(pilot, lambda: app.screen._token is not None)
        await pilot.press("y")
        await pilot.pause()
        copied = [n.message for n in app._notifications][-1]
        assert "Sent the access token to the terminal clipboard (OSC 52)" in copied
        assert "reveal" in copied
        assert secret_store.get(access_token_key("alice")) not in copied


LONG = "a-very-long-account-name-that-goes-on-and-on-and-on-ünïcödé-名前-" * 1


async def test_34_and_kind_8_small_terminals_long_and_unicode_names_do_not_crash(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.tui.app import RingPlusApp
    from ringplus_tui.tui.screens.account import AccountScreen

    async with open_service(config_dir, secret_store) as (service, _):
        await sign_in(service, sandbox, "名前 ünïcödé")
        await prepare(service, sandbox, LONG[:64])
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), secret_store))
    async with app.run_test(size=(80, 24)) as pilot:
        for size in ((80, 24), (40, 12), (20, 5), (1, 1), (100, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
        assert set(app.dashboard.rows) == {"名前 ünïcödé", LONG[:64]}
        app.dashboard.query_one("#accounts").move_cursor(
            row=app.dashboard.rows.index("名前 ünïcödé")
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        await pilot.resize_terminal(40, 12)
        await pilot.pause(1.2)  # a tick at 40x12
        assert app.is_running


# -- kind 9: secrets never on disk, in logs, on screen or in notifications ------------------


async def test_no_secret_in_files_logs_screens_or_notifications(
    config_dir: Path, secret_store, sandbox: Sandbox, caplog
) -> None:
    import logging

    from ringplus_tui.tui.app import RingPlusApp
    from ringplus_tui.tui.screens.account import AccountScreen

    caplog.set_level(logging.DEBUG)
    async with open_service(config_dir, secret_store) as (service, _):
        await sign_in(service, sandbox)
        await service.refresh("alice")
    pending_secret: list[str] = []
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), secret_store))
    screens: list[str] = []
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("r")
        await wait_for(pilot, lambda: not app.board.busy)
        screens.append(app.export_screenshot())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountScreen))
        await wait_for(pilot, lambda: app.screen._token is not None)
        await pilot.press("y")
        await pilot.pause(0.3)
        screens.append(app.export_screenshot())
        pending = await app.service.start_authorization("alice")
        pending_secret.append(pending.code_verifier)
        notes = " ".join(n.message for n in app._notifications)
    secrets = {v for v in secret_store.values if len(v) >= 8} | set(pending_secret)
    assert sandbox.client_secret in secrets and len(secrets) >= 5
    files = [p for p in config_dir.rglob("*") if p.is_file()]
    texts = [p.read_text(errors="replace") for p in files] + screens + [caplog.text, notes]
    for value in secrets:
        for text in texts:
            assert value not in text


async def test_an_unexpected_error_in_a_tick_is_shown_and_the_app_keeps_running(
    config_dir: Path, secret_store
) -> None:
    from ringplus_tui.tui.app import RingPlusApp

    SettingsStore(config_dir).save(
        SettingsStore(config_dir).load().with_account(Account(name="alice", app="x"))
    )
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), secret_store))
    calls = []

    def broken() -> float:
        calls.append(1)
        raise KeyError("expires_at")

    async with app.run_test(notifications=True) as pilot:
        app.clock = broken
        await wait_for(pilot, lambda: len(calls) >= 2, seconds=30)
        assert len(calls) >= 2  # the timer went on ticking
        assert app.is_running
        assert any("KeyError" in n.message for n in app._notifications)


async def test_05_a_second_paste_replaces_the_first() -> None:
    from textual import events
    from textual.app import App, ComposeResult

    from ringplus_tui.tui.widgets import PasteInput

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield PasteInput()

    app = One()
    async with app.run_test() as pilot:
        field = app.query_one(PasteInput)
        field.focus()
        field.post_message(events.Paste("http://x/cb?code=OLD&state=S1"))
        await pilot.pause()
        field.post_message(events.Paste("http://x/cb?code=NEW&state=S2"))
        await pilot.pause()
        assert field.value == "http://x/cb?code=NEW&state=S2"


def test_garbage_paste_is_quoted_as_typed() -> None:
    from ringplus_tui.oauth.redirect import parse_authorization_response

    with pytest.raises(AuthorizationResponseError) as caught:
        parse_authorization_response("this is not a url at all")
    assert "('this is not a url at all') is not an address" in caught.value.message

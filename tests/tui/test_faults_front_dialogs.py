"""Dialogs (issue 16, item 15): confirm dialogs answer to y and n, and adding an
account under a name that exists asks before signing that account in again."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Static

from ringplus_tui.tui.screens.modals import AddAccountModal, ConfirmModal, NewAccount
from tests.helpers.pilot_helpers import wait_for


class Host(App[None]):
    """An empty app to open one dialog over; remembers the dialog's answer."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[object] = []


@pytest.mark.parametrize(("key", "answer"), [("y", True), ("n", False)])
async def test_a_confirm_dialog_answers_to_y_and_n(key: str, answer: bool) -> None:
    host = Host()
    async with host.run_test() as pilot:
        host.push_screen(
            ConfirmModal("Forget alice?", "Her tokens leave this machine.", confirm="Forget"),
            host.answers.append,
        )
        await wait_for(pilot, lambda: isinstance(host.screen, ConfirmModal))
        await pilot.press(key)
        await wait_for(pilot, lambda: bool(host.answers))
    assert host.answers == [answer]


async def test_adding_an_account_under_a_taken_name_asks_first(tmp_path: Path) -> None:
    host = Host()
    async with host.run_test(size=(100, 30)) as pilot:
        dialog = AddAccountModal(["sandbox"], existing=frozenset({"alice"}))
        host.push_screen(dialog, host.answers.append)
        await wait_for(pilot, lambda: host.screen is dialog and bool(dialog.query("#name")))
        dialog.query_one("#name", Input).value = "alice"
        dialog.query_one("#name", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "exists" in str(dialog.query_one("#problem").render()))

        assert host.screen is dialog and host.answers == []  # not taken silently
        said = str(dialog.query_one("#problem", Static).render())
        assert "'alice' exists already" in said and "Next again" in said

        await pilot.press("enter")  # asked, and confirmed
        await wait_for(pilot, lambda: bool(host.answers))
    assert host.answers == [NewAccount("alice", "sandbox")]


async def test_a_new_name_goes_on_at_once(tmp_path: Path) -> None:
    host = Host()
    async with host.run_test(size=(100, 30)) as pilot:
        dialog = AddAccountModal(["sandbox"], existing=frozenset({"alice"}))
        host.push_screen(dialog, host.answers.append)
        await wait_for(pilot, lambda: host.screen is dialog and bool(dialog.query("#name")))
        dialog.query_one("#name", Input).value = "bob"
        dialog.query_one("#name", Input).focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(host.answers))
    assert host.answers == [NewAccount("bob", "sandbox")]


async def test_a_wrong_password_is_shown_in_the_dialog_which_stays_open() -> None:
    from ringplus_tui.oauth.password import PasswordSignInError
    from ringplus_tui.tui.screens.modals import Credentials, PasswordModal

    tried: list[str] = []

    async def sign_in(credentials: Credentials) -> None:
        tried.append(credentials.password)
        if credentials.password != "alice-pass":
            raise PasswordSignInError("The provider did not accept the email and password.")

    host = Host()
    async with host.run_test(size=(100, 30)) as pilot:
        dialog = PasswordModal("alice", sign_in=sign_in)
        host.push_screen(dialog, host.answers.append)
        await wait_for(pilot, lambda: host.screen is dialog and bool(dialog.query("#password")))
        dialog.query_one("#username", Input).value = "alice@example.com"
        dialog.query_one("#password", Input).value = "wrong"
        dialog.query_one("#password", Input).focus()
        await pilot.press("enter")
        problem = dialog.query_one("#problem", Static)
        await wait_for(pilot, lambda: "did not accept" in str(problem.render()))

        assert host.screen is dialog and host.answers == []  # still open, to try again
        assert dialog.query_one("#username", Input).value == "alice@example.com"
        assert dialog.query_one("#password", Input).value == ""  # cleared for the next try

        dialog.query_one("#password", Input).value = "alice-pass"
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(host.answers))
    assert tried == ["wrong", "alice-pass"]
    assert host.answers == [Credentials("alice@example.com", "alice-pass")]

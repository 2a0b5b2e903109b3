"""Dialogs (issue 16, item 15): confirm dialogs answer to y and n, and adding an
account under a name that exists asks before signing that account in again."""

from __future__ import annotations

from pathlib import Path

import pytest
from pilot_helpers import wait_for
from textual.app import App
from textual.widgets import Input, Static

from ringplus_tui.tui.screens.modals import AddAccountModal, ConfirmModal, NewAccount


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

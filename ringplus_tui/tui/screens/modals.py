"""Small dialogs: confirm, ask for a name, ask for email and password, pick an app.

Each is a typed ``ModalScreen`` that returns its answer with ``dismiss``; ``None``
(or ``False``) means cancelled.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Select, Static

from ringplus_tui.core.errors import RingPlusError

from ..cells import plain

NEW_APP = "\x00new"
"""The app choice that means: enter a new app's credentials."""


class ConfirmModal(ModalScreen[bool]):
    """Ask a yes/no question: ``y`` or the confirm button goes ahead, ``n``, Escape or
    Cancel do not.

    Args:
        title: The question.
        detail: What will happen, in one or two sentences.
        confirm: The label of the button that goes ahead.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes", show=False),
        Binding("n", "cancel", "No", show=False),
    ]

    def __init__(self, title: str, detail: str, *, confirm: str = "Yes") -> None:
        super().__init__()
        self.question = title
        self.detail = detail
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="title")
            yield Static(plain(self.detail), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button(self.confirm, id="yes", variant="error")
                yield Button("Cancel", id="no")

    def on_mount(self) -> None:
        self.query_one("#no").focus()

    @on(Button.Pressed)
    def answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_confirm(self) -> None:
        """Go ahead."""
        self.dismiss(True)

    def action_cancel(self) -> None:
        """Close without going ahead."""
        self.dismiss(False)


class TextModal(ModalScreen[str | None]):
    """Ask for one line of text (e.g. a new name).

    Args:
        title: What is asked.
        value: The starting text.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "") -> None:
        super().__init__()
        self.question = title
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(self.question), classes="title")
            yield Input(self.value, id="text")
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        self.dismiss(self.query_one("#text", Input).value.strip() or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without an answer."""
        self.dismiss(None)


@dataclass(frozen=True)
class Credentials:
    """An email and password, for one sign-in (the password is hidden from ``repr``)."""

    username: str
    password: str = field(repr=False)


def _problem() -> Static:
    """The line where a dialog says, in place, why it cannot go on (hidden while empty)."""
    problem = Static("", id="problem", classes="detail")
    problem.display = False
    return problem


def _say_problem(screen: Screen[Any], text: str) -> None:
    problem = screen.query_one("#problem", Static)
    problem.update(plain(text))  # a provider's words: never markup
    problem.display = bool(text)


SignInWith = Callable[[Credentials], Awaitable[None]]
"""Signs in with the credentials; raises :class:`RingPlusError` when that fails."""


class PasswordModal(ModalScreen[Credentials | None]):
    """Ask for the email and password of the password sign-in shortcut.

    With ``sign_in``, the dialog signs in itself and stays open on failure, showing the
    error in place (the email kept, the password cleared for another try); it closes
    with the credentials once signed in. Without it, it closes with them at once.

    Args:
        account: The account being signed in.
        hint: Extra guidance (the sandbox's demo users).
        sign_in: Signs in with the entered credentials.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, account: str, *, hint: str = "", sign_in: SignInWith | None = None) -> None:
        super().__init__()
        self.account = account
        self.hint = hint
        self.sign_in = sign_in

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(plain(f"Sign in {self.account} with a password"), classes="title")
            yield Static(
                "A shortcut: ringplus-tui fills the provider's own sign-in page for you. It "
                "depends on that page, so if it fails, sign in through the browser (key s). "
                "The password is used once and never stored.",
                classes="detail",
            )
            if self.hint:
                yield Static(plain(self.hint), classes="hint")
            yield Input(placeholder="email", id="username")
            yield Input(placeholder="password", password=True, id="password")
            yield _problem()
            with Horizontal(classes="buttons"):
                yield Button("Sign in", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted, "#username")
    def next_field(self) -> None:
        self.query_one("#password").focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username or not password:
            self.notify("Enter both the email and the password.", severity="warning")
            return
        if self.sign_in is None:
            self.dismiss(Credentials(username, password))
            return
        self._sign_in(Credentials(username, password))

    @work(exclusive=True, group="password-sign-in", exit_on_error=False)
    async def _sign_in(self, credentials: Credentials) -> None:
        """Sign in; on failure show why in place and let the person try again."""
        assert self.sign_in is not None
        ok = self.query_one("#ok", Button)
        _say_problem(self, "Signing in with the password…")
        ok.disabled = True
        try:
            await self.sign_in(credentials)
        except RingPlusError as err:
            _say_problem(self, f"{err.title}: {err.message}")
            self.query_one("#password", Input).value = ""
            self.query_one("#password", Input).focus()
            return
        finally:
            ok.disabled = False
        self.dismiss(credentials)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without signing in."""
        self.dismiss(None)


@dataclass(frozen=True)
class NewAccount:
    """The add-account dialog's answer.

    Attributes:
        name: The new account's name.
        app: An existing app's name, or :data:`NEW_APP`.
    """

    name: str
    app: str


class AddAccountModal(ModalScreen[NewAccount | None]):
    """Name a new account and choose the app it signs in through (or a new app).

    The name of an account that exists already is not taken silently: the dialog
    says so in place, and only a second Next with the same name goes on (to sign
    that account in again).

    Args:
        apps: Names of the existing apps.
        selected: The app chosen at first.
        existing: Names of the existing accounts.
    """

    CSS_PATH = "modals.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        apps: list[str],
        selected: str | None = None,
        *,
        existing: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.apps = apps
        self.selected = selected if selected in apps else (apps[0] if apps else NEW_APP)
        self.existing = existing
        self._asked: str | None = None

    def compose(self) -> ComposeResult:
        options = [(name, name) for name in self.apps] + [("New app…", NEW_APP)]
        with Vertical(classes="dialog"):
            yield Label("Add an account", classes="title")
            yield Static("Account name", classes="detail")
            yield Input(placeholder="e.g. work", id="name")
            yield Static("Signs in through the app", classes="detail")
            yield Select(options, value=self.selected, allow_blank=False, id="app")
            yield _problem()
            with Horizontal(classes="buttons"):
                yield Button("Next", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def ok(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        if not name:
            self.notify("Give the account a name.", severity="warning")
            return
        if name in self.existing and name != self._asked:
            self._asked = name
            _say_problem(
                self,
                f"An account named '{name}' exists already. Press Next again to sign it in "
                "again, or choose another name.",
            )
            return
        self.dismiss(NewAccount(name, str(self.query_one("#app", Select).value)))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)

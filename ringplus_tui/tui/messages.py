"""App-wide messages: screens post requests upward; the app posts news downward."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class SignIn(Message):
    """Run the authorization flow for an existing account (browser and pasted URL)."""

    account: str


@dataclass
class PasswordSignIn(Message):
    """Run the password sign-in shortcut for an existing account."""

    account: str


@dataclass
class AddAccount(Message):
    """Add an account: pick or enter its app's credentials, then sign it in.

    Attributes:
        app: The app to preselect (or edit, when ``edit`` is true).
        account: The account to sign in afterwards, if known.
        edit: Open the app's credentials for editing instead of the add dialog.
    """

    app: str | None = None
    account: str | None = None
    edit: bool = False


@dataclass
class RefreshRequested(Message):
    """Refresh these accounts now (several run concurrently, at most 8 at once)."""

    accounts: tuple[str, ...]


@dataclass
class Tick(Message):
    """The app's one clock tick (every second): redraw countdowns from ``now``.

    Attributes:
        now: Current time, UTC epoch seconds (read once per tick).
    """

    now: float


@dataclass
class AccountsChanged(Message):
    """Accounts changed (a refresh finished, another process wrote the settings)."""

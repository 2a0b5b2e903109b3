"""App-wide messages: screens post requests and news of what they changed upward.

News goes downward through the app's signals (:mod:`ringplus_tui.tui.signals`).
"""

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
class AccountRenamed(Message):
    """A screen renamed an account through the service."""

    old: str
    new: str


@dataclass
class AccountRemoved(Message):
    """A screen removed an account through the service."""

    account: str


@dataclass
class TokensDropped(Message):
    """A screen forgot or revoked an account's tokens through the service."""

    account: str


@dataclass
class AccountsEdited(Message):
    """A screen changed apps or accounts through the service (added, saved, edited)."""


@dataclass
class OpenAccount(Message):
    """Show one account's details."""

    account: str


@dataclass
class OpenApps(Message):
    """Show the list of apps."""

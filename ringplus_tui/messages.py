"""App-wide messages: screens post these upward; the app runs the flows."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class SignIn(Message):
    """Run the authorization flow for an existing account."""

    account: str


@dataclass
class AddAccount(Message):
    """Enter (or edit) app credentials, then sign an account in.

    Attributes:
        app: The app to edit, or ``None`` for a new one.
        account: The account to sign in afterwards, if known.
    """

    app: str | None
    account: str | None = None

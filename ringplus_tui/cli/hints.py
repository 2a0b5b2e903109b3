"""What the command line adds to the service's messages: the command that fixes a problem."""

from __future__ import annotations

from ringplus_tui.service.hints import Hints


class CliHints(Hints):
    """Service messages name the command (and the dashboard's key) that fixes a problem."""

    def sign_in(self, account: str) -> str:
        """How to sign ``account`` in again."""
        return f"To sign in: 's' in the app, or 'ringplus-tui authorize {account}'."

    def enter_secret(self, app: str) -> str:
        """How to give the app its client secret again."""
        return (
            "Enter it again on the app's credentials screen (A, then e) or with "
            "'ringplus-tui app add'."
        )

    def fix_app(self, app: str) -> str:
        """How to change the app's settings."""
        return "Fix it on the app credentials screen or with 'ringplus-tui app add'."

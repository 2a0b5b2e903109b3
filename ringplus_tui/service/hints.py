"""What a service message tells a person to do next, in the words of their front end.

The service says what happened and what to do in plain words; a front end passes
its own :class:`Hints` to name its keys (the TUI) or its commands (the CLI).
No Textual here.
"""

from __future__ import annotations


class Hints:
    """The closing sentence of a service message that asks the person to act.

    Each method returns one sentence (ending with a full stop). This base class
    speaks in plain words; front ends subclass it.
    """

    def sign_in(self, account: str) -> str:
        """How to sign ``account`` in again (its tokens are missing or refused)."""
        return f"To sign in: start a new sign-in for '{account}'."

    def enter_secret(self, app: str) -> str:
        """How to give the app ``app`` its client secret again."""
        return "Enter it again in the app's settings."

    def fix_app(self, app: str) -> str:
        """How to change the settings of the app ``app``."""
        return "Fix it in the app's settings."


PLAIN_HINTS = Hints()
"""Plain words, naming no key and no command."""

"""Builds the TUI over a fresh service, wired exactly like the one a person runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.service.facade import Clock
from ringplus_tui.service.factory import make_service
from ringplus_tui.service.hints import Hints
from ringplus_tui.store.secret_store import SecretStore

if TYPE_CHECKING:
    import httpx2

    from ringplus_tui.core.prefill import CredentialsPrefill

    from .app import RingPlusApp


class TuiHints(Hints):
    """Service messages name the app's keys and the matching command."""

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


def make_app(
    config_dir: Path,
    secret_store: SecretStore,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
    prefill: CredentialsPrefill | None = None,
    sign_in_hint: str = "",
) -> RingPlusApp:
    """Build the TUI over a fresh service.

    Args:
        config_dir: The settings directory.
        secret_store: Where secrets live.
        transport: HTTPX transport (tests only).
        clock: Returns the current time, UTC epoch seconds.
        prefill: What a new app's credentials form starts with.
        sign_in_hint: Extra guidance on the authorize screen.

    Raises:
        ConfigError: The settings file cannot be read.
    """
    from ringplus_tui.core.prefill import EMPTY_PREFILL

    from .app import RingPlusApp

    service = make_service(
        config_dir, secret_store, transport=transport, clock=clock, hints=TuiHints()
    )
    return RingPlusApp(
        service, clock=clock, prefill=prefill or EMPTY_PREFILL, sign_in_hint=sign_in_hint
    )

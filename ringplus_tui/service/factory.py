"""One factory builds the service and passes it down: settings → secrets → service.

The command line, the TUI's factory and the tests all call it, so every front end is
wired the same way.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.store.secret_store import SecretStore
from ringplus_tui.store.settings import SettingsStore

from .facade import Clock, OAuthService
from .hints import PLAIN_HINTS, Hints

if TYPE_CHECKING:
    import httpx2


def make_service(
    config_dir: Path,
    secret_store: SecretStore,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
    hints: Hints = PLAIN_HINTS,
) -> OAuthService:
    """Build the OAuth service over the settings in ``config_dir``.

    Args:
        config_dir: The settings directory.
        secret_store: Where secrets live.
        transport: HTTPX transport (tests only).
        clock: Returns the current time, UTC epoch seconds.
        hints: How messages name the front end's keys or commands.

    Raises:
        ConfigError: The settings file cannot be read.
    """
    return OAuthService(
        SettingsStore(config_dir), secret_store, transport=transport, clock=clock, hints=hints
    )

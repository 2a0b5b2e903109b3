"""One factory builds everything and passes it down: settings → secrets → service → app.

The command line and the tests both call these, so the app a test drives is
wired exactly like the one a person runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from .secret_store import SecretStore
from .service import Clock, OAuthService
from .settings import SettingsStore

if TYPE_CHECKING:
    import httpx2

    from .app import RingPlusApp
    from .prefill import CredentialsPrefill


def make_service(
    config_dir: Path,
    secret_store: SecretStore,
    *,
    transport: httpx2.AsyncBaseTransport | None = None,
    clock: Clock = time.time,
) -> OAuthService:
    """Build the OAuth service over the settings in ``config_dir``.

    Raises:
        ConfigError: The settings file cannot be read.
    """
    return OAuthService(SettingsStore(config_dir), secret_store, transport=transport, clock=clock)


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
    from .app import RingPlusApp
    from .prefill import EMPTY_PREFILL

    service = make_service(config_dir, secret_store, transport=transport, clock=clock)
    return RingPlusApp(
        service, clock=clock, prefill=prefill or EMPTY_PREFILL, sign_in_hint=sign_in_hint
    )

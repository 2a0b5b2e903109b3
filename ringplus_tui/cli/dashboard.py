"""Opening the dashboard: ``ringplus-tui`` over your settings and keyring, or
``ringplus-tui --sandbox`` against an embedded sandbox provider with throw-away
settings and secrets."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ringplus_tui.core.prefill import CredentialsPrefill
    from ringplus_tui.sandbox import Sandbox

SANDBOX_TOKEN_LIFETIME = 300
"""Seconds an access token lasts in ``--sandbox`` mode: short, to watch the countdown."""


def run_dashboard(config_dir: Path) -> int:
    """Run the dashboard over the settings in ``config_dir`` and the OS keyring.

    Raises:
        ConfigError: The settings file cannot be read.
    """
    from ringplus_tui.store.secret_store import KeyringSecretStore, keyring_service
    from ringplus_tui.store.trace import traced
    from ringplus_tui.tui.factory import make_app

    app = make_app(config_dir, traced(KeyringSecretStore(keyring_service(config_dir))))
    app.run()
    return 0


def sandbox_demo(sandbox: Sandbox) -> tuple[CredentialsPrefill, str]:
    """What ``--sandbox`` starts with: the credentials form with the demo app filled in
    (its client secret too), and the hint the sign-in screens show (the demo users)."""
    from ringplus_tui.core.prefill import CredentialsPrefill

    prefill = replace(
        CredentialsPrefill.from_app(sandbox.demo_app(), account="alice", editing=False),
        client_secret=sandbox.client_secret,
        intro=(
            "Sandbox demo: a local RingPlus-like provider is running, and its demo app "
            "(client ID, client secret, redirect URI) is filled in below. Press Ctrl+S "
            "to save it and sign in the account 'alice'."
        ),
    )
    users = " or ".join(f"{u.email} / {u.password}" for u in sandbox.users)
    hint = (
        f"Sandbox: sign in as {users}. Tokens last "
        f"{SANDBOX_TOKEN_LIFETIME // 60} minutes here, so you can watch them expire."
    )
    return prefill, hint


def run_sandbox_dashboard() -> int:
    """Run the dashboard against an embedded sandbox, with settings in a temporary
    directory and secrets in memory; both are gone when it closes."""
    from ringplus_tui.sandbox import Sandbox
    from ringplus_tui.store.secret_store import MemorySecretStore
    from ringplus_tui.store.trace import traced
    from ringplus_tui.tui.factory import make_app

    with (
        Sandbox(token_lifetime=SANDBOX_TOKEN_LIFETIME) as sandbox,
        tempfile.TemporaryDirectory(prefix="ringplus-tui-sandbox-") as home,
    ):
        prefill, hint = sandbox_demo(sandbox)
        store = traced(MemorySecretStore())
        app = make_app(Path(home), store, prefill=prefill, sign_in_hint=hint)
        app.run()
    return 0

"""After a sign-in and a refresh, no secret value is in any file under the settings directory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from tests.helpers.browser import sign_in_and_consent


async def test_no_secret_in_settings_files(
    service: OAuthService, sandbox: Sandbox, secret_store, config_dir: Path
) -> None:
    await service.save_app(sandbox.demo_app(), sandbox.client_secret)
    await service.add_account("alice", "sandbox")
    pending = await service.start_authorization("alice")
    redirected = await asyncio.to_thread(
        sign_in_and_consent, pending.authorization_url, "alice@example.com", "alice-pass"
    )
    await service.complete_authorization(redirected)
    await service.refresh("alice")

    secrets = {v for v in secret_store.values if len(v) >= 8}
    assert sandbox.client_secret in secrets and len(secrets) >= 4  # secret, 2 ATs, RT
    files = [p for p in config_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text(errors="replace")
        for value in secrets:
            assert value not in text, f"a secret leaked into {path.name}"

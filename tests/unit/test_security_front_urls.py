"""https is checked at the moment a token or secret is sent (issue 15, finding 6):
saved settings holding a URL that is now refused still load, and nothing is sent."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import (
    MemorySecretStore,
    access_token_key,
    client_secret_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import SettingsStore

ACCESS = "access-token-that-must-stay-home"
REFRESH = "refresh-token-that-must-stay-home"
SECRET = "client-secret-that-must-stay-home"


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Answers every request with 500 and remembers it."""

    def __init__(self) -> None:
        self.seen: list[httpx2.Request] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.seen.append(request)
        return httpx2.Response(500, json={"error": "server_error"})


def _saved(config_dir: Path, **provider: str) -> MemorySecretStore:
    """An app and a signed-in account saved with ``provider`` fields, as if written
    by an older version or by hand (no check when saving)."""
    with Sandbox() as sandbox:
        app = sandbox.demo_app()
    app = replace(app, provider=replace(app.provider, **provider))
    now = time.time()
    account = Account(
        name="alice",
        app=app.name,
        expires_at=now + 3600,
        obtained_at=now,
        token_type="Bearer",
        has_refresh_token=True,
    )
    SettingsStore(config_dir).update(lambda s: s.with_app(app).with_account(account))
    secrets = MemorySecretStore()
    secrets.set(access_token_key("alice"), ACCESS)
    secrets.set(refresh_token_key("alice"), REFRESH)
    secrets.set(client_secret_key(app.name), SECRET)
    return secrets


def _sent_anything_secret(transport: RecordingTransport) -> bool:
    for request in transport.seen:
        blob = str(request.url) + str(dict(request.headers)) + request.content.decode("latin-1")
        if any(value in blob for value in (ACCESS, REFRESH, SECRET)):
            return True
    return False


async def test_a_bearer_token_is_never_sent_to_a_plain_http_api_base(config_dir: Path) -> None:
    secrets = _saved(config_dir, api_base="http://api.example.com")
    transport = RecordingTransport()
    service = OAuthService(SettingsStore(config_dir), secrets, transport=transport)
    try:
        assert "alice" in service.settings.accounts  # the settings still load
        with pytest.raises(ConfigError) as caught:
            await service.fetch_profile("alice")
    finally:
        await service.aclose()
    assert not [r for r in transport.seen if r.url.host == "api.example.com"]
    assert not _sent_anything_secret(transport)
    message = caught.value.message
    assert "http://api.example.com" in message and "https://" in message
    assert "API base URL" in message


async def test_the_backslash_api_base_gets_no_token(config_dir: Path) -> None:
    secrets = _saved(config_dir, api_base="http://evil.example\\@127.0.0.1/api")
    transport = RecordingTransport()
    service = OAuthService(SettingsStore(config_dir), secrets, transport=transport)
    try:
        with pytest.raises(ConfigError) as caught:
            await service.fetch_profile("alice")
    finally:
        await service.aclose()
    assert transport.seen == []
    assert "backslash" in caught.value.message


@pytest.mark.parametrize(
    "field", ["token_endpoint", "revocation_endpoint"], ids=["refresh", "revoke"]
)
async def test_a_plain_http_token_or_revocation_endpoint_gets_no_secret(
    config_dir: Path, field: str
) -> None:
    url = f"http://{field.replace('_', '-')}.example.com/oauth"
    secrets = _saved(config_dir, **{field: url})
    transport = RecordingTransport()
    service = OAuthService(SettingsStore(config_dir), secrets, transport=transport)
    try:
        assert "alice" in service.settings.accounts
        with pytest.raises(ConfigError) as caught:
            if field == "token_endpoint":
                await service.refresh("alice")
            else:
                await service.revoke("alice")
    finally:
        await service.aclose()
    assert transport.seen == []
    assert url in caught.value.message
    assert secrets.get(refresh_token_key("alice")) == REFRESH  # nothing lost

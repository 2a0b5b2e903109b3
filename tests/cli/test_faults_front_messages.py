"""Messages that say what happened (issue 16, item 5): a full disk after the keyring
changed, ``refresh --all`` with nobody signed in, and a revocation the provider refuses.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from ringplus_tui.cli.main import main
from ringplus_tui.core.errors import TokenEndpointError
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store import settings as settings_module
from ringplus_tui.store.secret_store import (
    MemorySecretStore,
    access_token_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport
from tests.helpers.flows import prepare, sign_in


@pytest.fixture
def keyring_env(secret_store, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The command line, run in this process, uses this test's keyring service."""
    monkeypatch.setenv("RINGPLUS_TUI_KEYRING_SERVICE", secret_store.service)
    yield
    for key in (access_token_key("alice"), refresh_token_key("alice")):
        secret_store.delete(key)


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on, writing the settings or state file meets a full disk."""

    def full(path: Path, data: bytes) -> object:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(settings_module, "write_atomically", full)


async def test_a_full_disk_after_a_refresh_says_the_keyring_has_the_new_token(
    config_dir: Path,
    secret_store,
    keyring_env: None,
    rotating_sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        await sign_in(service, rotating_sandbox)
    finally:
        await service.aclose()
    before = secret_store.get(refresh_token_key("alice"))
    _disk_full(monkeypatch)
    capsys.readouterr()

    import asyncio

    status = await asyncio.to_thread(main, ["--config-dir", str(config_dir), "refresh", "alice"])

    said = capsys.readouterr().err
    assert status == 1, said  # a failure, not a usage error
    assert "Nothing was changed" not in said and "nothing was changed" not in said
    assert "in the keyring" in said and "No space left on device" in said
    assert secret_store.get(refresh_token_key("alice")) != before  # it did change


async def test_a_full_disk_after_forget_says_the_tokens_left_the_keyring(
    config_dir: Path,
    secret_store,
    keyring_env: None,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        await sign_in(service, sandbox)
    finally:
        await service.aclose()
    _disk_full(monkeypatch)
    capsys.readouterr()

    import asyncio

    status = await asyncio.to_thread(main, ["--config-dir", str(config_dir), "forget", "alice"])

    said = capsys.readouterr().err
    assert status == 1, said
    assert "nothing was changed" not in said.lower()
    assert "removed from the keyring" in said
    assert secret_store.get(access_token_key("alice")) is None


async def test_refresh_all_with_nobody_signed_in_says_so(
    config_dir: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    service = OAuthService(SettingsStore(config_dir), MemorySecretStore())
    try:
        await prepare(service, sandbox)  # alice exists, not signed in
    finally:
        await service.aclose()
    capsys.readouterr()

    import asyncio

    status = await asyncio.to_thread(main, ["--config-dir", str(config_dir), "refresh", "--all"])

    said = capsys.readouterr().err
    assert "no account is signed in" in said
    assert "use --all" not in said
    assert status == 0
    assert sandbox.token_requests == []


@pytest.mark.parametrize(
    "answer",
    [
        httpx2.Response(401, json={"error": "invalid_client"}),
        httpx2.Response(400, json={"error": "unauthorized_client", "error_description": "public"}),
        httpx2.Response(401),
    ],
    ids=["invalid_client", "unauthorized_client", "bare-401"],
)
async def test_a_refused_revocation_speaks_of_revocation_and_offers_forget(
    config_dir: Path, sandbox: Sandbox, answer: httpx2.Response
) -> None:
    def refuse_revocation(request: httpx2.Request) -> httpx2.Response | None:
        return answer if request.url.path.endswith("/oauth/revoke") else None

    secrets = MemorySecretStore()
    service = OAuthService(
        SettingsStore(config_dir), secrets, transport=FaultyTransport(refuse_revocation)
    )
    try:
        await sign_in(service, sandbox)
        with pytest.raises(TokenEndpointError) as caught:
            await service.revoke("alice")
    finally:
        await service.aclose()

    error = caught.value
    assert error.title == "Revocation refused"
    assert "revoke" in error.message and "'forget'" in error.message
    assert "token endpoint" not in error.message
    assert secrets.get(refresh_token_key("alice"))  # nothing was removed
    assert service.settings.account("alice").signed_in

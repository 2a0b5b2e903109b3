"""The service's collaborators as a person or a script notices them: how often a refresh
asks the keyring, what messages tell a person to do, and refreshes in many processes at
once (issue 16: one request per account; a remove during a refresh leaves nothing behind).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringplus_tui.core.errors import ConfigError, NeedsSignInError, TokenEndpointError
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.service.factory import make_service
from ringplus_tui.service.hints import Hints
from ringplus_tui.store.secret_store import (
    MemorySecretStore,
    access_token_key,
    client_secret_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.flows import browse, prepare, sign_in


class CountingStore(MemorySecretStore):
    """Secrets in memory; every call on the store is written down as (verb, key)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def get(self, key: str) -> str | None:
        self.calls.append(("get", key))
        return super().get(key)

    def set(self, key: str, value: str) -> None:
        self.calls.append(("set", key))
        super().set(key, value)

    def delete(self, key: str) -> None:
        self.calls.append(("delete", key))
        super().delete(key)


@pytest.fixture
async def counted(config_dir: Path) -> AsyncIterator[tuple[OAuthService, CountingStore]]:
    store = CountingStore()
    service = OAuthService(SettingsStore(config_dir), store)
    yield service, store
    await service.aclose()


# -- keyring round trips -------------------------------------------------------------


async def test_a_refresh_with_rotation_makes_three_secret_store_calls(
    counted: tuple[OAuthService, CountingStore], rotating_sandbox: Sandbox
) -> None:
    """Read the refresh token, store the rotated one first, then the access token: the
    client secret is not read again for each refresh (before: 4 calls, 6 keyring round
    trips with the read-back of each write)."""
    service, store = counted
    await sign_in(service, rotating_sandbox)
    await service.refresh("alice")
    store.calls.clear()

    await service.refresh("alice")

    assert store.calls == [
        ("get", refresh_token_key("alice")),
        ("set", refresh_token_key("alice")),
        ("set", access_token_key("alice")),
    ]
    assert rotating_sandbox.token_requests.count("refresh_token") == 2


async def test_a_refresh_without_rotation_writes_only_the_access_token(
    counted: tuple[OAuthService, CountingStore], sandbox: Sandbox
) -> None:
    service, store = counted
    await sign_in(service, sandbox)
    store.calls.clear()

    await service.refresh("alice")

    assert store.calls == [
        ("get", refresh_token_key("alice")),
        ("set", access_token_key("alice")),
    ]
    assert await service.refresh("alice")  # the kept refresh token still works


async def test_sign_in_and_refresh_read_the_client_secret_once_and_no_token_back(
    counted: tuple[OAuthService, CountingStore], sandbox: Sandbox
) -> None:
    """The client made for the sign-in keeps the secret, and the profile fetch after a
    sign-in or a refresh uses the new access token in hand instead of reading it back."""
    service, store = counted
    await prepare(service, sandbox)
    store.calls.clear()

    pending = await service.start_authorization("alice")
    account = await service.complete_authorization(await browse(pending.authorization_url))
    await service.refresh("alice")
    await service.refresh("alice")

    assert account.user  # the profile was fetched with the new token
    assert store.calls.count(("get", client_secret_key("sandbox"))) == 1
    assert ("get", access_token_key("alice")) not in store.calls


async def test_a_changed_client_secret_is_read_again_after_the_app_is_saved(
    counted: tuple[OAuthService, CountingStore], sandbox: Sandbox
) -> None:
    service, _ = counted
    await sign_in(service, sandbox)
    await service.save_app(sandbox.demo_app(), "a-wrong-secret")
    with pytest.raises(TokenEndpointError) as caught:
        await service.refresh("alice")
    assert caught.value.error == "invalid_client"
    await service.save_app(sandbox.demo_app(), sandbox.client_secret)
    assert await service.refresh("alice")


# -- messages in words; the front ends add their keys and commands --------------------


async def test_plain_service_messages_name_no_key_and_no_command(
    counted: tuple[OAuthService, CountingStore], sandbox: Sandbox
) -> None:
    service, _ = counted
    await prepare(service, sandbox)
    with pytest.raises(NeedsSignInError) as caught:
        await service.refresh("alice")
    assert "'alice' is not signed in" in caught.value.message
    assert "start a new sign-in" in caught.value.message
    assert "ringplus-tui" not in caught.value.message and "'s'" not in caught.value.message


async def test_front_ends_pass_their_own_hints(config_dir: Path, sandbox: Sandbox) -> None:
    class Keys(Hints):
        def sign_in(self, account: str) -> str:
            return f"Press s on {account}."

        def enter_secret(self, app: str) -> str:
            return f"Open {app} and type it."

    store = MemorySecretStore()
    service = make_service(config_dir, store, hints=Keys())
    try:
        await prepare(service, sandbox)
        with pytest.raises(NeedsSignInError) as caught:
            await service.valid_access_token("alice")
        assert caught.value.message.endswith("Press s on alice.")
        await sign_in(service, sandbox)
    finally:
        await service.aclose()
    store.delete(client_secret_key("sandbox"))
    again = make_service(config_dir, store, hints=Keys())
    try:
        with pytest.raises(ConfigError) as missing:
            await again.refresh("alice")
        assert missing.value.title == "Client secret missing"
        assert missing.value.message.endswith("Open sandbox and type it.")
    finally:
        await again.aclose()


def test_the_tui_factory_keeps_its_key_and_command_hints(config_dir: Path) -> None:
    from ringplus_tui.tui.factory import make_app

    app = make_app(config_dir, MemorySecretStore())
    assert app.service.hints.sign_in("bob") == (
        "To sign in: 's' in the app, or 'ringplus-tui authorize bob'."
    )
    assert "(A, then e)" in app.service.hints.enter_secret("sandbox")


# -- batch() and reload ---------------------------------------------------------------


async def test_a_batch_sees_another_process_change_and_keeps_its_own(
    config_dir: Path, sandbox: Sandbox
) -> None:
    """Inside a batch a reload re-reads the file and applies the batch's changes on top."""
    store = MemorySecretStore()
    service = OAuthService(SettingsStore(config_dir), store)
    other = OAuthService(SettingsStore(config_dir), store)
    try:
        await sign_in(service, sandbox)
        await service.add_account("bob", "sandbox")
        async with service.records.batch():
            refreshed = await service.refresh("alice")
            await other.reload()
            await other.set_auto_refresh("bob", False)
            assert await service.reload()
            assert not service.settings.accounts["bob"].auto_refresh
            assert service.settings.accounts["alice"].obtained_at == refreshed.obtained_at
        on_disk = SettingsStore(config_dir).load().accounts
        assert on_disk["alice"].obtained_at == refreshed.obtained_at
        assert not on_disk["bob"].auto_refresh
    finally:
        await service.aclose()
        await other.aclose()

"""The OAuth service against the sandbox provider over loopback HTTP, secrets in the OS keyring."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from ringplus_tui.core.errors import (
    AccessDeniedError,
    AuthorizationResponseError,
    ConfigError,
    NeedsSignInError,
    NetworkError,
    RedirectMismatchError,
    StateMismatchError,
    TokenEndpointError,
)
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport, on_grant
from tests.helpers.flows import browse, prepare, sign_in


async def test_full_flow_stores_token_in_keyring_and_metadata_in_settings(
    service: OAuthService, sandbox: Sandbox, secret_store, config_dir
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    assert "code_challenge_method=S256" in pending.authorization_url
    redirected = await browse(pending.authorization_url)

    account = await service.complete_authorization(redirected)

    now = service.clock()
    assert account.expires_at is not None
    assert 3590 < account.expires_at - now <= 3600
    assert account.has_refresh_token
    assert secret_store.get(access_token_key("alice"))
    assert secret_store.get(refresh_token_key("alice"))
    reloaded = SettingsStore(config_dir).load()
    assert reloaded.accounts["alice"].expires_at == account.expires_at
    assert sandbox.token_requests == ["authorization_code"]


async def test_access_token_works_at_the_api(service: OAuthService, sandbox: Sandbox) -> None:
    await sign_in(service, sandbox)
    token = await service.access_token("alice")
    async with httpx2.AsyncClient() as client:
        me = await client.get(
            f"{sandbox.base_url}/users/me", headers={"Authorization": f"Bearer {token}"}
        )
    assert me.json()["email"] == "alice@example.com"


async def test_deny_reports_access_denied_and_makes_no_token_request(
    service: OAuthService, sandbox: Sandbox, secret_store
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    redirected = await browse(pending.authorization_url, allow=False)

    with pytest.raises(AccessDeniedError) as caught:
        await service.complete_authorization(redirected)

    assert "access_denied" in caught.value.message
    assert sandbox.token_requests == []
    assert secret_store.get(access_token_key("alice")) is None
    assert not service.settings.accounts["alice"].signed_in


async def test_foreign_state_is_refused_before_any_request(
    service: OAuthService, sandbox: Sandbox
) -> None:
    await prepare(service, sandbox)
    await service.start_authorization("alice")
    with pytest.raises(StateMismatchError):
        await service.complete_authorization(f"{sandbox.redirect_uri}?code=C0DE&state=ATTACKER")
    assert sandbox.token_requests == []


async def test_url_for_another_redirect_uri_is_refused(
    service: OAuthService, sandbox: Sandbox
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    other = f"https://www.ringplus.net/callback?code=C0DE&state={pending.state}"
    with pytest.raises(RedirectMismatchError) as caught:
        await service.complete_authorization(other)
    assert "scheme" in caught.value.message
    assert sandbox.token_requests == []


async def test_missing_code_names_what_is_missing(service: OAuthService, sandbox: Sandbox) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    with pytest.raises(AuthorizationResponseError) as caught:
        await service.complete_authorization(f"{sandbox.redirect_uri}?state={pending.state}")
    assert "no authorization code" in caught.value.message
    assert sandbox.token_requests == []


async def test_pasted_url_with_whitespace_quotes_and_line_breaks_still_works(
    service: OAuthService, sandbox: Sandbox
) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    redirected = await browse(pending.authorization_url)
    half = len(redirected) // 2
    messy = f'  "{redirected[:half]}\n{redirected[half:]}"  \n'.replace("&", "&amp;")
    account = await service.complete_authorization(messy)
    assert account.signed_in


async def test_same_url_twice_says_it_was_used(service: OAuthService, sandbox: Sandbox) -> None:
    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    redirected = await browse(pending.authorization_url)
    await service.complete_authorization(redirected)
    with pytest.raises(StateMismatchError) as caught:
        await service.complete_authorization(redirected)
    assert "already used" in caught.value.message
    assert sandbox.token_requests == ["authorization_code"]


async def test_expired_pending_authorization_is_refused(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    now = [1_000_000.0]
    service = OAuthService(SettingsStore(config_dir), secret_store, clock=lambda: now[0])
    try:
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        redirected = await browse(pending.authorization_url)
        now[0] += 601
        with pytest.raises(StateMismatchError) as caught:
            await service.complete_authorization(redirected)
        assert "expired" in caught.value.message
        assert sandbox.token_requests == []
    finally:
        await service.aclose()


async def test_url_is_routed_to_the_account_whose_sign_in_it_belongs_to(
    service: OAuthService, sandbox: Sandbox
) -> None:
    await prepare(service, sandbox, "alice")
    await service.add_account("bob", "sandbox")
    alice = await service.start_authorization("alice")
    await service.start_authorization("bob")
    account = await service.complete_authorization(await browse(alice.authorization_url))
    assert account.name == "alice"
    assert not service.settings.accounts["bob"].signed_in


async def test_refresh_changes_access_token_and_keeps_refresh_token(
    service: OAuthService, sandbox: Sandbox, secret_store
) -> None:
    await sign_in(service, sandbox)
    old_access = secret_store.get(access_token_key("alice"))
    old_refresh = secret_store.get(refresh_token_key("alice"))

    account = await service.refresh("alice")

    assert secret_store.get(access_token_key("alice")) != old_access
    # The sandbox does not rotate: the response has no refresh token, the old one stays.
    assert secret_store.get(refresh_token_key("alice")) == old_refresh
    assert account.last_refresh_at is not None
    await service.refresh("alice")  # and it still works a second time
    assert sandbox.token_requests == ["authorization_code", "refresh_token", "refresh_token"]


async def test_rotated_refresh_token_is_stored(
    service: OAuthService, rotating_sandbox: Sandbox, secret_store
) -> None:
    await sign_in(service, rotating_sandbox)
    old_refresh = secret_store.get(refresh_token_key("alice"))
    await service.refresh("alice")
    new_refresh = secret_store.get(refresh_token_key("alice"))
    assert new_refresh and new_refresh != old_refresh
    await service.refresh("alice")  # the old one is revoked; only the stored new one works


async def test_concurrent_refreshes_of_one_account_send_one_request(
    service: OAuthService, rotating_sandbox: Sandbox
) -> None:
    await sign_in(service, rotating_sandbox)
    results = await asyncio.gather(*(service.refresh("alice") for _ in range(5)))
    assert len({r.expires_at for r in results}) == 1
    assert rotating_sandbox.token_requests.count("refresh_token") == 1


async def test_rejected_refresh_token_needs_sign_in_and_keeps_tokens(
    service: OAuthService, sandbox: Sandbox, secret_store, config_dir
) -> None:
    await sign_in(service, sandbox)
    before = (
        secret_store.get(access_token_key("alice")),
        secret_store.get(refresh_token_key("alice")),
    )
    sandbox.revoke_all_tokens()

    with pytest.raises(NeedsSignInError) as caught:
        await service.refresh("alice")

    assert "invalid_grant" in caught.value.message
    after = (
        secret_store.get(access_token_key("alice")),
        secret_store.get(refresh_token_key("alice")),
    )
    assert after == before
    assert SettingsStore(config_dir).load().accounts["alice"].needs_sign_in
    # Signing in again clears the flag.
    pending = await service.start_authorization("alice")
    await service.complete_authorization(await browse(pending.authorization_url))
    assert not service.settings.accounts["alice"].needs_sign_in


async def test_unknown_account_names_close_match(service: OAuthService, sandbox: Sandbox) -> None:
    await prepare(service, sandbox)
    with pytest.raises(ConfigError) as caught:
        await service.refresh("alcie")
    assert "alice" in caught.value.message


async def test_new_app_without_secret_is_refused(service: OAuthService, sandbox: Sandbox) -> None:
    with pytest.raises(ConfigError):
        await service.save_app(sandbox.demo_app(), None)
    assert service.settings.apps == {}


# -- faults a real server cannot produce, through HTTPX's transport hook ------------


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (httpx2.ConnectError("[Errno 111] Connection refused"), "Could not connect"),
        (httpx2.ReadTimeout(""), "did not answer within 30 s"),
        (httpx2.Response(503, text="<html>Service Unavailable</html>"), "HTTP 503"),
    ],
)
async def test_network_failures_during_refresh_change_nothing(
    config_dir, secret_store, sandbox: Sandbox, fault, words: str
) -> None:
    service = OAuthService(
        SettingsStore(config_dir),
        secret_store,
        transport=FaultyTransport(on_grant("refresh_token", fault)),
    )
    try:
        await sign_in(service, sandbox)
        before_settings = (config_dir / "config.toml").read_bytes()
        before_access = secret_store.get(access_token_key("alice"))

        with pytest.raises(NetworkError) as caught:
            await service.refresh("alice")

        assert words in caught.value.message
        assert (config_dir / "config.toml").read_bytes() == before_settings
        assert secret_store.get(access_token_key("alice")) == before_access
    finally:
        await service.aclose()


async def test_error_json_with_status_200_is_a_refusal(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    reply = httpx2.Response(
        200, json={"error": "bad_verification_code", "error_description": "The code is wrong."}
    )
    service = OAuthService(
        SettingsStore(config_dir),
        secret_store,
        transport=FaultyTransport(on_grant("refresh_token", reply)),
    )
    try:
        await sign_in(service, sandbox)
        before = secret_store.get(access_token_key("alice"))
        with pytest.raises(TokenEndpointError) as caught:
            await service.refresh("alice")
        assert "The code is wrong." in caught.value.message
        assert secret_store.get(access_token_key("alice")) == before
    finally:
        await service.aclose()


class CountingSettingsStore(SettingsStore):
    """A settings store that remembers every save."""

    def __init__(self, directory) -> None:
        super().__init__(directory)
        self.saves: list[object] = []

    def save(self, settings) -> None:
        self.saves.append(settings)
        super().save(settings)


async def test_refresh_all_writes_the_settings_once(
    secret_store, sandbox: Sandbox, config_dir
) -> None:
    store = CountingSettingsStore(config_dir)
    service = OAuthService(store, secret_store)
    try:
        for name in ("a", "b", "c"):
            await sign_in(service, sandbox, name)
        before = {n: service.settings.accounts[n].obtained_at for n in ("a", "b", "c")}
        store.saves.clear()
        results = await service.refresh_all(["a", "b", "c"])
    finally:
        await service.aclose()
    assert all(not isinstance(r, Exception) for r in results.values())
    assert len(store.saves) == 1
    on_disk = SettingsStore(config_dir).load().accounts
    assert all(on_disk[n].obtained_at != before[n] for n in ("a", "b", "c"))

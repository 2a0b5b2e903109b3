"""Provider settings for any OAuth2 server: discovery documents, id_token checks,
extra parameters, public clients, token placement and the no-refresh-token warning."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ringplus_tui.core.errors import ConfigError, DiscoveryError, IdTokenError
from ringplus_tui.core.models import Account, AppConfig, Provider
from ringplus_tui.core.validation import AppInput, FieldError, build_app, parse_authorization_params
from ringplus_tui.oauth.discovery import metadata_urls, provider_from_metadata
from ringplus_tui.oauth.oidc import verify_id_token
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService, refresh_token_warning
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.flows import browse, prepare

ISSUER = "https://id.example.org/tenant"


def document(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "issuer": ISSUER,
        "authorization_endpoint": "https://id.example.org/tenant/authorize",
        "token_endpoint": "https://id.example.org/tenant/token",
        "jwks_uri": "https://id.example.org/tenant/jwks",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": True,
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def test_metadata_is_looked_for_where_rfc_8414_and_openid_connect_put_it() -> None:
    assert metadata_urls(ISSUER) == [
        "https://id.example.org/.well-known/oauth-authorization-server/tenant",
        "https://id.example.org/tenant/.well-known/openid-configuration",
        "https://id.example.org/tenant/.well-known/oauth-authorization-server",
    ]


def test_a_document_fills_the_provider_and_picks_a_supported_client_authentication() -> None:
    found = provider_from_metadata(ISSUER, document(), document_url="u")
    assert found.provider.token_endpoint == "https://id.example.org/tenant/token"
    assert found.provider.authorization_response_iss_parameter_supported
    assert found.auth_method_for(has_secret=True) == "client_secret_post"
    assert found.auth_method_for(has_secret=False) == "none"


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"issuer": "https://evil.example.org"}, "must match exactly"),
        ({"token_endpoint": None}, "no usable 'token_endpoint'"),
        ({"token_endpoint": "http://id.example.org/token"}, "https"),
        ({"authorization_endpoint": 42}, "no usable 'authorization_endpoint'"),
    ],
)
def test_a_document_that_cannot_be_trusted_or_used_is_refused(
    changes: dict[str, object], words: str
) -> None:
    with pytest.raises(DiscoveryError, match=words):
        provider_from_metadata(ISSUER, document(**changes), document_url="u")


# -- OpenID Connect id_token ----------------------------------------------------------

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
OTHER_KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([KEY])


def id_token(key: RSAKey = KEY, **changes: object) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": "client-1",
        "sub": "248289761001",
        "iat": now,
        "exp": now + 600,
        "nonce": "n-0S6",
        "name": "Jane Doe",
        "email": "jane@example.org",
    }
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v}, key)


def verify(token: str, *, nonce: str | None = "n-0S6") -> object:
    return verify_id_token(
        token, KEYS, issuer=ISSUER, client_id="client-1", nonce=nonce, now=time.time()
    )


def test_a_valid_id_token_names_the_person() -> None:
    identity = verify(id_token())
    assert identity == verify(id_token())
    assert identity.subject == "248289761001"  # type: ignore[attr-defined]
    assert identity.label == "Jane Doe <jane@example.org>"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("token", "words"),
    [
        (lambda: id_token(OTHER_KEY), "signature does not verify"),
        (lambda: id_token(iss="https://evil.example"), "'iss'"),
        (lambda: id_token(aud="someone-else"), "'aud'"),
        (lambda: id_token(nonce="replayed"), "'nonce'"),
        (lambda: id_token(nonce=None), "'nonce'"),
        (lambda: id_token(exp=int(time.time()) - 3600), "expired"),
        (lambda: "not.a.jwt", "cannot be verified|not a signed JWT"),
    ],
)
def test_an_id_token_that_does_not_verify_is_refused(token: object, words: str) -> None:
    with pytest.raises(IdTokenError, match=words) as caught:
        verify(token())  # type: ignore[operator]
    assert "Nothing was stored" in caught.value.message


# -- app settings ----------------------------------------------------------------------


def test_extra_parameters_are_read_and_reserved_ones_refused() -> None:
    assert parse_authorization_params("prompt=consent&access_type=offline") == (
        ("prompt", "consent"),
        ("access_type", "offline"),
    )
    assert parse_authorization_params("  ") == ()
    with pytest.raises(FieldError, match="set by the sign-in itself"):
        parse_authorization_params("state=abc")
    with pytest.raises(FieldError, match="Scopes field"):
        parse_authorization_params("scope=openid")
    with pytest.raises(FieldError, match="key=value"):
        parse_authorization_params("prompt")


def test_a_discovered_public_app_survives_a_round_trip_through_the_settings_file(
    tmp_path: Path,
) -> None:
    app = build_app(
        AppInput(
            name="idp",
            client_id="cli",
            redirect_uri="http://127.0.0.1:8765/callback",
            scopes="openid offline_access",
            provider="custom",
            authorization_endpoint="https://id.example.org/authorize",
            token_endpoint="https://id.example.org/token",
            token_endpoint_auth_method="none",
            issuer=ISSUER,
            jwks_uri="https://id.example.org/jwks",
            authorization_response_iss_parameter_supported=True,
            authorization_params="prompt=consent",
            token_placement="query",
        )
    )
    assert app.public
    store = SettingsStore(tmp_path)
    settings = store.update(lambda s: s.with_app(app))
    assert store.load() == settings
    assert store.load().app("idp") == app
    text = store.path.read_text()
    assert 'issuer = "https://id.example.org/tenant"' in text
    assert "[apps.idp.authorization_params]" in text


def test_a_hand_edited_reserved_parameter_in_the_settings_file_is_refused(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.toml").write_text(
        '[apps.x]\nprovider = "ringplus"\nclient_id = "c"\nredirect_uri = "https://e.org/cb"\n'
        '[apps.x.authorization_params]\nredirect_uri = "https://evil.example"\n'
    )
    with pytest.raises(ConfigError, match="must not set 'redirect_uri'"):
        SettingsStore(tmp_path).load()


def test_signing_in_without_a_refresh_token_warns_and_says_how_to_get_one() -> None:
    app = AppConfig(name="idp", client_id="c", redirect_uri="https://e.org/cb")
    account = Account(name="jane", app="idp", obtained_at=1.0, expires_at=2.0)
    warning = refresh_token_warning(app, account)
    assert warning is not None
    assert "no refresh token" in warning
    assert "offline_access" in warning and "prompt=consent" in warning
    assert refresh_token_warning(app, Account(name="jane", app="idp")) is None
    with_refresh = Account(name="j", app="idp", obtained_at=1.0, has_refresh_token=True)
    assert refresh_token_warning(app, with_refresh) is None


async def test_a_public_app_needs_no_client_secret(service: OAuthService) -> None:
    public = AppConfig(
        name="pub",
        client_id="cli",
        redirect_uri="http://127.0.0.1:8765/cb",
        provider=Provider(
            name="custom",
            authorization_endpoint="https://id.example.org/authorize",
            token_endpoint="https://id.example.org/token",
            token_endpoint_auth_method="none",
        ),
    )
    await service.save_app(public, None)
    assert service.settings.app("pub").public
    confidential = AppConfig(name="conf", client_id="c", redirect_uri="https://e.org/cb")
    with pytest.raises(ConfigError, match="client secret is required"):
        await service.save_app(confidential, None)


async def test_the_access_token_can_travel_in_the_query_and_never_reaches_the_log(
    service: OAuthService, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    await prepare(service, sandbox)
    app = service.settings.app("sandbox")
    placed = Provider(**{**app.provider.__dict__, "token_placement": "query"})
    await service.save_app(AppConfig(**{**app.__dict__, "provider": placed}), None)
    pending = await service.start_authorization("alice")
    await service.complete_authorization(await browse(pending.authorization_url))
    token = await service.access_token("alice")
    assert token
    caplog.set_level(logging.DEBUG)
    profile = await service.fetch_profile("alice")
    assert profile.user.startswith("Alice")
    assert any("access_token=[redacted]" in r.getMessage() for r in caplog.records)
    assert all(token not in r.getMessage() for r in caplog.records)


async def test_the_sandbox_can_be_discovered_from_its_base_url(
    service: OAuthService, sandbox: Sandbox
) -> None:
    found = await service.discover(sandbox.base_url)
    expected = sandbox.provider()
    assert found.provider.authorization_endpoint == expected.authorization_endpoint
    assert found.provider.token_endpoint == expected.token_endpoint
    assert found.provider.revocation_endpoint == expected.revocation_endpoint


# -- profiles, and tokens that must not follow a changed app ------------------------------


def test_each_settings_directory_is_its_own_keyring_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ringplus_tui.store.secret_store import keyring_service
    from ringplus_tui.store.settings import platform_config_dir

    monkeypatch.delenv("RINGPLUS_TUI_KEYRING_SERVICE", raising=False)
    a, b = keyring_service(tmp_path / "a"), keyring_service(tmp_path / "b")
    assert a != b and a.startswith("ringplus-tui@") and str(tmp_path / "a") in a
    (tmp_path / "a").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert keyring_service(tmp_path / "link") == a  # a symlink reaches the same profile
    assert keyring_service(platform_config_dir()) == "ringplus-tui"
    assert keyring_service(None) == "ringplus-tui"
    monkeypatch.setenv("RINGPLUS_TUI_KEYRING_SERVICE", "mine")
    assert keyring_service(tmp_path / "a") == "mine"


async def test_an_app_with_signed_in_accounts_cannot_be_pointed_at_another_server(
    service: OAuthService, sandbox: Sandbox
) -> None:
    from dataclasses import replace

    from tests.helpers.flows import sign_in

    await sign_in(service, sandbox, "alice")
    app = service.settings.app("sandbox")
    elsewhere = replace(
        app, provider=replace(app.provider, token_endpoint="https://evil.example/token")
    )
    with pytest.raises(ConfigError, match="would send their tokens to another server"):
        await service.save_app(elsewhere, None)
    assert service.settings.app("sandbox") == app
    # Harmless edits still work: scopes, extra parameters.
    await service.save_app(replace(app, authorization_params=(("prompt", "login"),)), None)

    # Nor can a signed-in account move to another app (its refresh token would follow).
    await service.save_app(replace(elsewhere, name="other"), "other-secret")
    with pytest.raises(ConfigError, match="signed in through the app 'sandbox'"):
        await service.add_account("alice", "other")
    assert service.settings.account("alice").app == "sandbox"
    assert service.settings.account("alice").signed_in


async def test_a_scope_the_provider_refuses_says_so_and_that_retrying_will_not_help(
    service: OAuthService, sandbox: Sandbox
) -> None:
    from ringplus_tui.core.errors import AccessDeniedError

    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    url = (
        f"{sandbox.redirect_uri}?error=invalid_scope&error_description=offline_access"
        f"&state={pending.state}"
    )
    with pytest.raises(AccessDeniedError) as caught:
        await service.complete_authorization(url)
    assert caught.value.title == "Scope not accepted"
    assert "Retrying will not help" in caught.value.message


async def test_the_sandbox_redirect_page_is_not_listened_for(
    service: OAuthService, sandbox: Sandbox
) -> None:
    from ringplus_tui.core.errors import LoopbackUnavailableError

    await prepare(service, sandbox)
    pending = await service.start_authorization("alice")
    assert not service.capturable(pending)  # the sandbox serves its own /callback
    with pytest.raises(LoopbackUnavailableError, match="page of the provider itself"):
        service.listen_for_redirect(pending)


async def test_discovery_faults_are_named_not_crashes(tmp_path: Path) -> None:
    import httpx2

    from ringplus_tui.core.errors import NetworkError
    from ringplus_tui.store.secret_store import MemorySecretStore

    def html_everywhere(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, text="<html>Sign in</html>")

    service = OAuthService(
        SettingsStore(tmp_path),
        MemorySecretStore(),
        transport=httpx2.MockTransport(html_everywhere),
    )
    with pytest.raises(DiscoveryError, match=r"not JSON.*enter the endpoints by hand"):
        await service.discover(ISSUER)

    def refused(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("Connection refused", request=request)

    service = OAuthService(
        SettingsStore(tmp_path), MemorySecretStore(), transport=httpx2.MockTransport(refused)
    )
    with pytest.raises(NetworkError, match=r"Could not connect to id\.example\.org"):
        await service.discover(ISSUER)
    with pytest.raises(FieldError, match="https"):
        await service.discover("http://id.example.org")
    assert SettingsStore(tmp_path).load().apps == {}

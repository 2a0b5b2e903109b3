"""Protocol checks a hostile provider must not get past (issue 15, finding 7): an
id_token meant for several clients, and a token type this app does not understand."""

from __future__ import annotations

import time

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from ringplus_tui.core.errors import IdTokenError, TokenEndpointError
from ringplus_tui.oauth.oidc import verify_id_token
from ringplus_tui.oauth.token_response import token_from_response
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.faults import FaultyTransport, on_grant
from tests.helpers.flows import browse, prepare

ISSUER = "https://id.example.org"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


def _verify(**claims: object) -> object:
    now = int(time.time())
    body: dict[str, object] = {
        "iss": ISSUER,
        "aud": "client-1",
        "sub": "248289761001",
        "iat": now,
        "exp": now + 600,
        "nonce": "n-0S6",
    }
    body.update(claims)
    token = jwt.encode({"alg": "RS256", "kid": "k1"}, body, KEY)
    return verify_id_token(
        token, KeySet([KEY]), issuer=ISSUER, client_id="client-1", nonce="n-0S6", now=now
    )


def test_an_id_token_for_several_audiences_without_azp_is_refused() -> None:
    with pytest.raises(IdTokenError, match=r"several clients.*'azp'"):
        _verify(aud=["client-1", "evil-client"])


def test_an_id_token_issued_to_another_client_is_refused() -> None:
    with pytest.raises(IdTokenError, match="another client"):
        _verify(aud=["client-1", "evil-client"], azp="evil-client")
    with pytest.raises(IdTokenError, match="another client"):
        _verify(azp="evil-client")


def test_an_id_token_for_several_audiences_with_our_azp_is_accepted() -> None:
    assert _verify(aud=["client-1", "other"], azp="client-1")
    assert _verify(aud=["client-1"])  # one audience in a list needs no azp
    assert _verify(aud="client-1", azp="client-1")


@pytest.mark.parametrize("kind", ["Bearer", "bearer", "BEARER", None, ""])
def test_a_bearer_or_missing_token_type_is_accepted(kind: str | None) -> None:
    data: dict[str, object] = {"access_token": "AT-0123456789"}
    if kind is not None:
        data["token_type"] = kind
    token = token_from_response(data, now=0, default_lifetime=60)
    assert token.token_type.lower() == "bearer"


@pytest.mark.parametrize("kind", ["mac", "DPoP", "N_A", 7, ["bearer"]])
def test_a_token_type_other_than_bearer_is_refused(kind: object) -> None:
    with pytest.raises(TokenEndpointError, match="only use Bearer"):
        token_from_response(
            {"access_token": "AT-0123456789", "token_type": kind}, now=0, default_lifetime=60
        )


async def test_a_mac_token_is_refused_at_sign_in_and_nothing_is_stored(
    config_dir, secret_store, sandbox: Sandbox
) -> None:
    mac = httpx2.Response(
        200,
        json={
            "access_token": "AT-MAC-0123456789",
            "token_type": "mac",
            "mac_key": "adijq39jdlaska9asud",
            "refresh_token": "RT-MAC-0123456789",
        },
    )
    service = OAuthService(
        SettingsStore(config_dir),
        secret_store,
        transport=FaultyTransport(on_grant("authorization_code", mac)),
    )
    try:
        await prepare(service, sandbox)
        pending = await service.start_authorization("alice")
        with pytest.raises(TokenEndpointError, match=r"'mac' token.*nothing was stored"):
            await service.complete_authorization(await browse(pending.authorization_url))
        assert not service.settings.accounts["alice"].signed_in
    finally:
        await service.aclose()
    assert secret_store.get(access_token_key("alice")) is None
    assert secret_store.get(refresh_token_key("alice")) is None
    assert "AT-MAC-0123456789" not in secret_store.values

"""The django-oauth-toolkit test provider itself works (plain HTTP, none of ringplus-tui's code)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.helpers.dot_provider import DotServer, dot_available, dot_sign_in_and_consent

pytestmark = pytest.mark.skipif(
    not dot_available(), reason="django-oauth-toolkit is not installed (pip install -e '.[dev]')"
)

REDIRECT_URI = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def metadata(dot: DotServer) -> dict[str, Any]:
    """The RFC 8414 document, found the RFC 8414 way for issuer ``.../o``."""
    response = httpx2.get(f"{dot.url}/.well-known/oauth-authorization-server/o")
    assert response.status_code == 200
    return dict(response.json())


def _authorize(
    metadata: dict[str, Any], client_id: str, *, scope: str = "openid profile email read"
) -> tuple[dict[str, str], str, str, str]:
    """Sign in and consent; returns (redirect query, code_verifier, state, nonce)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.decode(),
            "code_challenge_method": "S256",
        }
    )
    location = dot_sign_in_and_consent(f"{metadata['authorization_endpoint']}?{query}")
    assert location.startswith(REDIRECT_URI + "?"), location
    params = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    return params, verifier, state, nonce


def _token(
    metadata: dict[str, Any], data: dict[str, str], auth: tuple[str, str] | None = None
) -> httpx2.Response:
    return httpx2.post(metadata["token_endpoint"], data=data, auth=auth)


def _code_grant(code: str, verifier: str, **extra: str) -> dict[str, str]:
    """The body of an authorization-code exchange with PKCE (RFC 6749 §4.1.3, RFC 7636)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        **extra,
    }


def test_discovery_documents_agree_on_the_issuer(dot: DotServer, metadata: dict[str, Any]) -> None:
    oidc = httpx2.get(f"{dot.issuer}/.well-known/openid-configuration").json()
    assert metadata["issuer"] == oidc["issuer"] == dot.issuer
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert oidc["authorization_response_iss_parameter_supported"] is True
    assert metadata["revocation_endpoint"] == f"{dot.issuer}/revoke_token/"
    assert metadata["jwks_uri"] == oidc["jwks_uri"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert {"name", "email"} <= set(oidc["claims_supported"])


def test_confidential_client_with_basic_auth(dot: DotServer, metadata: dict[str, Any]) -> None:
    client_id, secret = dot.register_client("confidential", REDIRECT_URI)
    assert secret
    params, verifier, state, nonce = _authorize(metadata, client_id)
    assert params["state"] == state
    assert params["iss"] == dot.issuer
    assert params["code"]

    response = _token(metadata, _code_grant(params["code"], verifier), auth=(client_id, secret))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 3600
    assert tokens["access_token"] and tokens["refresh_token"]

    jwks = KeySet.import_key_set(httpx2.get(metadata["jwks_uri"]).json())
    claims = jwt.decode(tokens["id_token"], jwks, algorithms=["RS256"]).claims
    assert claims["iss"] == dot.issuer
    assert claims["aud"] == client_id
    assert claims["nonce"] == nonce
    assert claims["name"] == "Alice Example"
    assert claims["email"] == "alice@example.org"
    assert claims["sub"]


def test_refresh_rotates_and_the_old_token_is_rejected(
    dot: DotServer, metadata: dict[str, Any]
) -> None:
    client_id, secret = dot.register_client("confidential", REDIRECT_URI)
    assert secret
    params, verifier, _, _ = _authorize(metadata, client_id)
    first = _token(metadata, _code_grant(params["code"], verifier), auth=(client_id, secret)).json()

    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    second = _token(metadata, refresh, auth=(client_id, secret))
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert second.json()["access_token"] != first["access_token"]

    again = _token(metadata, refresh, auth=(client_id, secret))
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_client_secret_post(dot: DotServer, metadata: dict[str, Any]) -> None:
    client_id, secret = dot.register_client("confidential", REDIRECT_URI)
    assert secret
    params, verifier, _, _ = _authorize(metadata, client_id, scope="read")
    response = _token(
        metadata,
        _code_grant(params["code"], verifier, client_id=client_id, client_secret=secret),
    )
    assert response.status_code == 200, response.text
    assert "id_token" not in response.json()  # no openid scope, no id_token


def test_public_client_with_pkce_only(dot: DotServer, metadata: dict[str, Any]) -> None:
    client_id, secret = dot.register_client("public", REDIRECT_URI)
    assert secret is None
    params, verifier, _, _ = _authorize(metadata, client_id)
    wrong_verifier = secrets.token_urlsafe(48)
    wrong = _token(metadata, _code_grant(params["code"], wrong_verifier, client_id=client_id))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"

    params, verifier, _, _ = _authorize(metadata, client_id)
    response = _token(metadata, _code_grant(params["code"], verifier, client_id=client_id))
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["id_token"] and tokens["refresh_token"]

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    response = _token(metadata, refresh | {"client_id": client_id})
    assert response.status_code == 200, response.text


def test_revoke_a_refresh_token(dot: DotServer, metadata: dict[str, Any]) -> None:
    client_id, secret = dot.register_client("confidential", REDIRECT_URI)
    assert secret
    params, verifier, _, _ = _authorize(metadata, client_id, scope="read")
    tokens = _token(
        metadata, _code_grant(params["code"], verifier), auth=(client_id, secret)
    ).json()

    revoke = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    unauthenticated = httpx2.post(metadata["revocation_endpoint"], data=revoke)
    assert unauthenticated.status_code == 401
    response = httpx2.post(metadata["revocation_endpoint"], data=revoke, auth=(client_id, secret))
    assert response.status_code == 200

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    again = _token(metadata, refresh, auth=(client_id, secret))
    assert again.json()["error"] == "invalid_grant"


def test_loopback_redirect_uri_may_change_port_and_denial_redirects(
    dot: DotServer, metadata: dict[str, Any]
) -> None:
    client_id, _ = dot.register_client("public", "http://127.0.0.1/callback")
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "http://127.0.0.1:50123/callback",
            "scope": "read",
            "state": "s1",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
    )
    location = dot_sign_in_and_consent(f"{metadata['authorization_endpoint']}?{query}", allow=False)
    assert location.startswith("http://127.0.0.1:50123/callback?")
    params = parse_qs(urlsplit(location).query)
    assert params["error"] == ["access_denied"]
    assert params["state"] == ["s1"]

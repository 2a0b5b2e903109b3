"""`app add --issuer` warns when this client may not revoke at the provider (RFC 8414 §2)."""

from __future__ import annotations

from ringplus_tui.cli.apps import revocation_warning
from ringplus_tui.oauth.discovery import provider_from_metadata

METADATA = {
    "issuer": "https://idp.example",
    "authorization_endpoint": "https://idp.example/auth",
    "token_endpoint": "https://idp.example/token",
    "revocation_endpoint": "https://idp.example/revoke",
}
DOCUMENT = "https://idp.example/.well-known/openid-configuration"


def test_a_public_client_is_warned_where_only_confidential_clients_may_revoke() -> None:
    found = provider_from_metadata(
        "https://idp.example",
        {**METADATA, "revocation_endpoint_auth_methods_supported": ["client_secret_basic"]},
        document_url=DOCUMENT,
    )
    warning = revocation_warning(found, "none")
    assert warning is not None
    assert "client_secret_basic" in warning and "'forget'" in warning
    assert revocation_warning(found, "client_secret_basic") is None


def test_without_the_list_only_client_secret_basic_is_assumed() -> None:
    found = provider_from_metadata("https://idp.example", METADATA, document_url=DOCUMENT)
    assert revocation_warning(found, "client_secret_basic") is None
    assert "by default" in (revocation_warning(found, "client_secret_post") or "")


def test_no_revocation_endpoint_no_warning() -> None:
    metadata = {k: v for k, v in METADATA.items() if k != "revocation_endpoint"}
    found = provider_from_metadata("https://idp.example", metadata, document_url=DOCUMENT)
    assert revocation_warning(found, "none") is None

"""Finding a provider's endpoints from its issuer URL alone.

Fetches the authorization server metadata (RFC 8414 §3) or the OpenID Provider
configuration (OpenID Connect Discovery 1.0 §4), checks that the document's
``issuer`` is exactly the URL given (RFC 8414 §3.3: otherwise another server
could hand out its own endpoints), and turns it into a
:class:`~ringplus_tui.core.models.Provider`. No Textual, no storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from ringplus_tui.core.errors import ConfigError, DiscoveryError
from ringplus_tui.core.models import CLIENT_AUTH_METHODS, Provider
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.validation import FieldError, check_url

if TYPE_CHECKING:
    import httpx2

OAUTH_WELL_KNOWN = "/.well-known/oauth-authorization-server"
OIDC_WELL_KNOWN = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Discovery:
    """What an issuer's metadata says, ready to store.

    Attributes:
        provider: The endpoints, issuer, ``jwks_uri`` and RFC 9207 flag, with
            ``token_endpoint_auth_method`` set to the best supported method.
        document_url: The metadata URL that answered.
        token_endpoint_auth_methods_supported: As the document lists them
            (RFC 8414 §2 default when absent: ``client_secret_basic``).
        scopes_supported: As the document lists them; may be empty.
        revocation_endpoint_auth_methods_supported: As the document lists them;
            empty when absent (RFC 8414 §2 default: ``client_secret_basic``; see
            :func:`ringplus_tui.oauth.http.can_revoke_with`).
    """

    provider: Provider
    document_url: str
    token_endpoint_auth_methods_supported: tuple[str, ...]
    scopes_supported: tuple[str, ...]
    revocation_endpoint_auth_methods_supported: tuple[str, ...] = ()

    def auth_method_for(self, *, has_secret: bool) -> str:
        """The client authentication to use: ``none`` without a secret, else the
        first of ``client_secret_basic``, ``client_secret_post`` the provider lists."""
        if not has_secret:
            return "none"
        for method in ("client_secret_basic", "client_secret_post"):
            if method in self.token_endpoint_auth_methods_supported:
                return method
        return "client_secret_basic"


def check_issuer(value: str) -> str:
    """Check an issuer identifier: an https URL (http only on loopback) with no query
    or fragment (RFC 8414 §2). A trailing ``/`` is kept as typed, since the
    comparison with the document's ``issuer`` is exact.

    Raises:
        FieldError: Not such a URL.
    """
    issuer = check_url("issuer", value, label="Issuer")
    if urlsplit(issuer).query:
        raise FieldError("issuer", "The issuer URL must not have a '?query' part (RFC 8414 §2).")
    return issuer


def metadata_urls(issuer: str) -> list[str]:
    """Where the metadata of ``issuer`` may be, in the order tried.

    1. RFC 8414 §3.1: the well-known path inserted between host and path
       (``https://host/.well-known/oauth-authorization-server/tenant``).
    2. OpenID Connect Discovery §4.1: appended to the issuer
       (``https://host/tenant/.well-known/openid-configuration``).
    3. RFC 8414 §5's compatibility form, appended
       (``https://host/tenant/.well-known/oauth-authorization-server``).
    """
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, OAUTH_WELL_KNOWN + path, "", ""))
    base = issuer.rstrip("/")
    urls = [inserted, base + OIDC_WELL_KNOWN, base + OAUTH_WELL_KNOWN]
    return list(dict.fromkeys(urls))


def provider_from_metadata(
    issuer: str, document: Mapping[str, Any], *, document_url: str
) -> Discovery:
    """Turn a metadata document into a :class:`Discovery`.

    Args:
        issuer: The issuer the person gave.
        document: The parsed JSON document.
        document_url: Where it came from (for messages).

    Returns:
        The discovery.

    Raises:
        DiscoveryError: ``issuer`` differs from the one given, or an endpoint is
            missing or not an https URL (http only on loopback).
    """
    found = document.get("issuer")
    if found != issuer:
        raise DiscoveryError(
            f"The metadata at {document_url} names the issuer '{safe_text(found, limit=100)}', not "
            f"'{issuer}'. The two must match exactly (RFC 8414 §3.3); check the URL, "
            "including any trailing '/'."
        )

    def endpoint(key: str, *, required: bool) -> str | None:
        value = document.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise DiscoveryError(
                f"The metadata at {document_url} has no usable '{key}', so this provider "
                "cannot be used with the authorization-code flow."
            )
        try:
            return check_url(key, value, label=key)
        except ConfigError as err:
            raise DiscoveryError(f"The metadata at {document_url}: {err.message}") from None

    def strings(key: str) -> tuple[str, ...]:
        value = document.get(key)
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))

    methods = strings("token_endpoint_auth_methods_supported") or ("client_secret_basic",)
    authorization_endpoint = endpoint("authorization_endpoint", required=True)
    token_endpoint = endpoint("token_endpoint", required=True)
    assert authorization_endpoint is not None and token_endpoint is not None
    provider = Provider(
        name="custom",
        authorization_endpoint=authorization_endpoint,
        token_endpoint=token_endpoint,
        revocation_endpoint=endpoint("revocation_endpoint", required=False),
        token_endpoint_auth_method=next(
            (m for m in methods if m in CLIENT_AUTH_METHODS), "client_secret_basic"
        ),
        issuer=issuer,
        authorization_response_iss_parameter_supported=(
            document.get("authorization_response_iss_parameter_supported") is True
        ),
        jwks_uri=endpoint("jwks_uri", required=False),
    )
    return Discovery(
        provider=provider,
        document_url=document_url,
        token_endpoint_auth_methods_supported=methods,
        scopes_supported=strings("scopes_supported"),
        revocation_endpoint_auth_methods_supported=strings(
            "revocation_endpoint_auth_methods_supported"
        ),
    )


async def discover(client: httpx2.AsyncClient, issuer: str) -> Discovery:
    """Fetch and check the metadata of ``issuer`` (RFC 8414, OpenID Connect Discovery).

    Tries each of :func:`metadata_urls` until one answers 200 with a JSON object.

    Args:
        client: The shared HTTP client.
        issuer: The issuer identifier, as given.

    Returns:
        The discovery.

    Raises:
        FieldError: The issuer is not an acceptable URL.
        DiscoveryError: No metadata found, or it fails :func:`provider_from_metadata`.
        httpx2.HTTPError: Network failures (the caller translates them).
    """
    issuer = check_issuer(issuer)
    tried: list[str] = []
    for url in metadata_urls(issuer):
        response = await client.get(url, headers={"Accept": "application/json"})
        tried.append(f"{url} (HTTP {response.status_code})")
        if response.status_code != 200:
            continue
        try:
            document = response.json()
        except ValueError:
            tried[-1] = f"{url} (not JSON)"
            continue
        if not isinstance(document, dict):
            continue
        return provider_from_metadata(issuer, document, document_url=url)
    raise DiscoveryError(
        f"No OAuth2 or OpenID Connect metadata was found for {issuer}. Tried: "
        + "; ".join(tried)
        + ". Check the issuer URL, or enter the endpoints by hand."
    )

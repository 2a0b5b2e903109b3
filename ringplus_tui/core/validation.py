"""Checking what a person types for an app, before anything is stored. Pure functions.

The credentials screen and the command line both call :func:`build_app`, so the
same input gets the same message everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .errors import ConfigError
from .models import (
    CLIENT_AUTH_METHODS,
    PROVIDERS,
    RESERVED_AUTHORIZATION_PARAMS,
    TOKEN_PLACEMENTS,
    AppConfig,
    Provider,
)
from .safe_text import safe_text
from .urls import URLError, is_loopback_host, parse_url


class FieldError(ConfigError):
    """One input field holds an invalid value.

    Attributes:
        field: The field's name, e.g. ``redirect_uri``.
    """

    title = "Check this field"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine: exactly ``localhost``, ``127.0.0.0/8`` or
    ``::1`` (see :func:`ringplus_tui.core.urls.is_loopback_host`)."""
    return is_loopback_host(host)


def check_url(field: str, value: str, *, label: str, require_https: bool = True) -> str:
    """Check an absolute http(s) URL under the strict grammar of
    :func:`ringplus_tui.core.urls.parse_url`.

    Args:
        field: The field's name, for the error.
        value: What was typed (surrounding whitespace is removed).
        label: Human name of the field.
        require_https: Refuse plain ``http://`` unless the host is loopback
            (RFC 6749 §3.1 and §3.2 require TLS for the endpoints).

    Returns:
        The stripped URL.

    Raises:
        FieldError: Not an absolute URL, no host, user information, a backslash,
            space or control character, an invalid host or port, a fragment, or
            insecure.
    """
    url = value.strip()
    if not url:
        raise FieldError(field, f"{label} is required.")
    shown = safe_text(url, limit=60)
    try:
        parts = parse_url(url)
    except URLError as err:
        if err.reason.startswith("is not a full"):
            raise FieldError(
                field,
                f"{label} must be a full URL starting with https:// "
                f"(for example https://example.org/callback), not '{shown}'.",
            ) from None
        raise FieldError(field, f"{label} {err.reason}: '{shown}'.") from None
    if parts.fragment:
        raise FieldError(field, f"{label} must not contain a '#' fragment.")
    if require_https and parts.scheme == "http" and not parts.is_loopback:
        raise FieldError(
            field,
            f"{label} must use https:// (plain http is allowed only for localhost "
            "and 127.0.0.1), because tokens and secrets travel over it.",
        )
    return url


@dataclass(frozen=True)
class AppInput:
    """Raw text of the app form, as typed.

    Attributes:
        name: App name.
        client_id: The ``client_id``.
        redirect_uri: The registered ``redirect_uri``.
        scopes: Space- or comma-separated scopes.
        provider: ``ringplus`` or ``custom``.
        authorization_endpoint: For a custom provider.
        token_endpoint: For a custom provider.
        revocation_endpoint: For a custom provider; optional.
        api_base: For a custom provider; optional.
        token_endpoint_auth_method: One of :data:`~ringplus_tui.core.models.CLIENT_AUTH_METHODS`.
        issuer: The issuer identifier (RFC 8414 §2), for a discovered provider.
        jwks_uri: The provider's key set URL, for OpenID Connect.
        authorization_response_iss_parameter_supported: From the metadata (RFC 9207).
        authorization_params: Extra authorization parameters as
            ``key=value`` pairs separated by spaces or ``&``.
        token_placement: ``header`` or ``query``.
    """

    name: str
    client_id: str
    redirect_uri: str
    scopes: str = ""
    provider: str = "ringplus"
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    revocation_endpoint: str = ""
    api_base: str = ""
    token_endpoint_auth_method: str = "client_secret_basic"
    issuer: str = ""
    jwks_uri: str = ""
    authorization_response_iss_parameter_supported: bool = False
    authorization_params: str = ""
    token_placement: str = "header"


def parse_authorization_params(text: str) -> tuple[tuple[str, str], ...]:
    """Read extra authorization parameters typed as ``prompt=consent access_type=offline``.

    Pairs are separated by whitespace, ``&`` or commas; values are taken as typed
    (a ``%`` escape is decoded). A later pair with the same key wins.

    Args:
        text: What the person typed; empty gives ``()``.

    Returns:
        The ``(key, value)`` pairs in order.

    Raises:
        FieldError: A pair without ``=``, an empty key, or a key the flow sets
            itself (``state``, ``redirect_uri``, … see RFC 6749 §4.1.1).
    """
    from urllib.parse import unquote

    params: dict[str, str] = {}
    for item in re.split(r"[\s&,]+", text.strip()):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = unquote(key)
        if not sep or not key:
            raise FieldError(
                "authorization_params",
                f"'{item:.40}' is not key=value. Write extra parameters like "
                "prompt=consent access_type=offline.",
            )
        if key in RESERVED_AUTHORIZATION_PARAMS:
            raise FieldError(
                "authorization_params",
                f"'{key}' is set by the sign-in itself and cannot be an extra parameter"
                + (" (put scopes in the Scopes field)." if key == "scope" else "."),
            )
        params[key] = unquote(value)
    return tuple(params.items())


def check_name(field: str, value: str, *, label: str) -> str:
    """Check a name for an app or account: non-empty, one line, at most 64 characters.

    Raises:
        FieldError: Empty, too long, or with control characters.
    """
    name = value.strip()
    if not name:
        raise FieldError(field, f"{label} is required.")
    if len(name) > 64:
        raise FieldError(field, f"{label} is too long ({len(name)} characters; at most 64).")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise FieldError(field, f"{label} must not contain control characters.")
    return name


def build_app(form: AppInput) -> AppConfig:
    """Turn the app form into an :class:`AppConfig`, or say which field is wrong.

    Args:
        form: What the person typed.

    Returns:
        The app configuration.

    Raises:
        FieldError: The first invalid field, with a message saying what is expected.
    """
    name = check_name("name", form.name, label="App name")
    client_id = form.client_id.strip()
    if not client_id:
        raise FieldError("client_id", "Client ID is required: copy it from the app's settings.")
    redirect_uri = check_url(
        "redirect_uri", form.redirect_uri, label="Redirect URI", require_https=False
    )
    scopes = tuple(dict.fromkeys(s for s in re.split(r"[\s,]+", form.scopes) if s))
    method = form.token_endpoint_auth_method
    if method not in CLIENT_AUTH_METHODS:
        raise FieldError(
            "token_endpoint_auth_method",
            f"Client authentication must be one of {', '.join(CLIENT_AUTH_METHODS)}.",
        )
    if form.token_placement not in TOKEN_PLACEMENTS:
        raise FieldError(
            "token_placement",
            f"Token placement must be one of {', '.join(TOKEN_PLACEMENTS)}.",
        )
    params = parse_authorization_params(form.authorization_params)
    preset = PROVIDERS.get(form.provider)
    if preset is not None:
        provider = preset
        if method != preset.token_endpoint_auth_method or form.token_placement != "header":
            provider = replace(
                preset, token_endpoint_auth_method=method, token_placement=form.token_placement
            )
    elif form.provider == "custom":
        provider = Provider(
            name="custom",
            authorization_endpoint=check_url(
                "authorization_endpoint",
                form.authorization_endpoint,
                label="Authorization endpoint",
            ),
            token_endpoint=check_url("token_endpoint", form.token_endpoint, label="Token endpoint"),
            revocation_endpoint=check_url(
                "revocation_endpoint", form.revocation_endpoint, label="Revocation endpoint"
            )
            if form.revocation_endpoint.strip()
            else None,
            api_base=check_url("api_base", form.api_base, label="API base URL")
            if form.api_base.strip()
            else None,
            token_endpoint_auth_method=method,
            issuer=check_url("issuer", form.issuer, label="Issuer")
            if form.issuer.strip()
            else None,
            authorization_response_iss_parameter_supported=(
                form.authorization_response_iss_parameter_supported
            ),
            jwks_uri=check_url("jwks_uri", form.jwks_uri, label="JWKS URI")
            if form.jwks_uri.strip()
            else None,
            token_placement=form.token_placement,
        )
    else:
        raise FieldError("provider", f"Unknown provider '{form.provider}'.")
    return AppConfig(
        name=name,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        provider=provider,
        authorization_params=params,
    )

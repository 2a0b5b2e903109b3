"""Checking what a person types for an app, before anything is stored. Pure functions.

The credentials screen and the command line both call :func:`build_app`, so the
same input gets the same message everywhere.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import ConfigError
from .models import CLIENT_AUTH_METHODS, PROVIDERS, AppConfig, Provider


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
    """Whether ``host`` names this machine (``localhost`` or a loopback address)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(field: str, value: str, *, label: str, require_https: bool = True) -> str:
    """Check an absolute http(s) URL.

    Args:
        field: The field's name, for the error.
        value: What was typed (surrounding whitespace is removed).
        label: Human name of the field.
        require_https: Refuse plain ``http://`` unless the host is loopback
            (RFC 6749 §3.1 and §3.2 require TLS for the endpoints).

    Returns:
        The stripped URL.

    Raises:
        FieldError: Not an absolute URL, no host, a fragment, or insecure.
    """
    url = value.strip()
    if not url:
        raise FieldError(field, f"{label} is required.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FieldError(
            field,
            f"{label} must be a full URL starting with https:// "
            f"(for example https://example.org/callback), not '{url:.60}'.",
        )
    if not parts.hostname:
        raise FieldError(field, f"{label} has no host name: '{url:.60}'.")
    try:
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise FieldError(field, f"{label} has an invalid port: '{url:.60}'.") from None
    if parts.fragment:
        raise FieldError(field, f"{label} must not contain a '#' fragment.")
    if require_https and parts.scheme == "http" and not is_loopback(parts.hostname):
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
        token_endpoint_auth_method: ``client_secret_basic`` or ``client_secret_post``.
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
    preset = PROVIDERS.get(form.provider)
    if preset is not None:
        provider = preset
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
        )
    else:
        raise FieldError("provider", f"Unknown provider '{form.provider}'.")
    return AppConfig(
        name=name, client_id=client_id, redirect_uri=redirect_uri, scopes=scopes, provider=provider
    )

"""Remembering the secret values just sent, so a provider that echoes them is redacted.

A provider may echo the request in its error (``error_description``, an HTML
page): the refresh token, the client secret, the Basic credentials. Every request
sent through :class:`~ringplus_tui.oauth.http.SharedTransport` calls
:func:`remember_request`, which keeps the secret values it carried (form fields
and query parameters named like a secret, the ``Authorization`` header) for the
current asyncio task; :func:`provider_text` then makes provider text safe to show
with those values redacted. The values stay in memory only, at most
:data:`MAX_REMEMBERED` of them, the oldest forgotten first.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

from ringplus_tui.core.safe_text import MAX_SHOWN, basic_credentials_forms, redact, safe_text

if TYPE_CHECKING:
    import httpx2

MAX_REMEMBERED = 128
"""Secret values (and their encoded forms) remembered per task at most."""

SECRET_FIELDS = frozenset(
    {
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "client_secret",
        "client_assertion",
        "code",
        "code_verifier",
        "password",
        "passwd",
        "pass",
    }
)
"""Form fields and query parameters whose values are secrets (RFC 6749 §4.1.3, §6,
§2.3.1; RFC 7636 §4.5; RFC 7009 §2.1; a sign-in form's password)."""

_sent: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "ringplus_sent_secrets", default=()
)


def remember(*values: str) -> None:
    """Add secret values to those redacted from provider text in this task."""
    fresh = list(dict.fromkeys(value for value in values if isinstance(value, str) and value))
    if not fresh:
        return
    known = [value for value in _sent.get() if value not in fresh]
    _sent.set(tuple([*known, *fresh][-MAX_REMEMBERED:]))


def sent_secrets() -> tuple[str, ...]:
    """The secret values remembered in this task, oldest first."""
    return _sent.get()


def _authorization_secrets(header: str) -> list[str]:
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return []
    found = [value]
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return found
        user, _, password = decoded.partition(":")
        found += [password, unquote(password), *basic_credentials_forms(user, password)]
        found += basic_credentials_forms(unquote(user), unquote(password))
    return found


def remember_request(request: httpx2.Request) -> None:
    """Remember the secrets ``request`` carries: its ``Authorization`` header, and the
    values of :data:`SECRET_FIELDS` in its query and form-encoded body. Never raises."""
    try:
        found: list[str] = []
        header = request.headers.get("authorization")
        if header:
            found += _authorization_secrets(header)
        pairs = parse_qsl(request.url.query.decode("latin-1"), keep_blank_values=True)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "application/x-www-form-urlencoded":
            try:
                body = request.content
            except Exception:  # a streamed body, not read yet: nothing to look at
                body = b""
            pairs += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        found += [value for key, value in pairs if key.lower() in SECRET_FIELDS]
        remember(*found)
    except Exception:  # pragma: no cover - remembering must never break a request
        return


def provider_text(value: object, *, limit: int = MAX_SHOWN) -> str:
    """Text a provider sent, safe to show: the secrets sent in this task redacted,
    then made safe by :func:`~ringplus_tui.core.safe_text.safe_text`. Never raises."""
    text = safe_text(value, limit=10 * limit)
    return safe_text(redact(text, sent_secrets()), limit=limit)

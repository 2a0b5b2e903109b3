"""Turning a token endpoint's JSON into a :class:`~ringplus_tui.core.models.Token`.

Real servers send expiry, scope and token type in many shapes; this is the one
place that reads them (RFC 6749 §5.1). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ringplus_tui.core.errors import TokenEndpointError
from ringplus_tui.core.models import Token

from .sent_secrets import provider_text


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _epoch(value: Any) -> float | None:
    number = _number(value)
    if number is not None:
        return number
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def parse_scope(value: Any, requested: Sequence[str] = ()) -> tuple[str, ...]:
    """Normalise a ``scope`` value (RFC 6749 §3.3) to a tuple of strings.

    Args:
        value: A space- or comma-separated string, a list, or ``None``.
        requested: Scopes asked for; returned when ``value`` is missing, as
            RFC 6749 §5.1 says an omitted scope equals the requested one.

    Returns:
        The scopes, in order, without duplicates or empty items.
    """
    if value is None:
        items: list[str] = list(requested)
    elif isinstance(value, str):
        items = re.split(r"[\s,]+", value)
    elif isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        items = list(requested)
    return tuple(dict.fromkeys(item for item in items if item))


def _bearer_token_type(value: Any) -> str:
    """The token type as sent when it is Bearer (any case, RFC 6750 §4), ``Bearer``
    when absent; any other type is refused: a client must not use a token type it
    does not understand (RFC 6749 §7.1)."""
    if value is None or value == "":
        return "Bearer"
    if isinstance(value, str) and value.strip().lower() == "bearer":
        return value.strip()
    shown = provider_text(value, limit=40)
    raise TokenEndpointError(
        f"The token endpoint issued a '{shown}' token, but this app can only use Bearer "
        "tokens (RFC 6750), so nothing was stored. Check that the app's token endpoint "
        "is the provider's OAuth 2.0 one.",
        error="unsupported_token_type",
        title="Unsupported token type",
    )


def token_from_response(
    data: Mapping[str, Any],
    *,
    now: float,
    default_lifetime: float,
    requested_scope: Sequence[str] = (),
    previous_refresh_token: str | None = None,
) -> Token:
    """Build a :class:`Token` from a successful token response.

    Args:
        data: The decoded JSON object.
        now: When the response arrived, UTC epoch seconds.
        default_lifetime: Seconds assumed when there is no usable expiry.
        requested_scope: Scopes requested (used when ``scope`` is absent).
        previous_refresh_token: Kept when the response's ``refresh_token`` is
            absent, null or empty (RFC 6749 §6: a new one is optional).

    Returns:
        The token, with an absolute ``expires_at``.

    Raises:
        TokenEndpointError: The response has an ``error``, no ``access_token``, or a
            ``token_type`` other than Bearer (RFC 6749 §7.1).
    """
    if data.get("error"):
        # Provider text: control characters escaped, echoed secrets redacted.
        error = provider_text(data["error"], limit=100)
        description = (
            provider_text(data["error_description"]) if data.get("error_description") else None
        )
        text = f"The token endpoint answered with an error ({error})"
        text += f": {description}." if description else "."
        raise TokenEndpointError(text, error=error, description=str(description or "") or None)
    access_token = data.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        keys = provider_text(", ".join(sorted(str(key) for key in data)) or "nothing", limit=120)
        raise TokenEndpointError(
            f"The token endpoint's answer has no access token (it had: {keys:.120}). "
            "Check the app's token endpoint URL.",
            title="Unexpected token response",
        )
    lifetime_assumed = False
    expires_in = _number(data.get("expires_in"))
    if expires_in is not None:
        expires_at = now + max(expires_in, 0.0)
    else:
        absolute = _epoch(data.get("expires_at"))
        if absolute is not None:
            expires_at = absolute
        else:
            expires_at = now + default_lifetime
            lifetime_assumed = True
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        refresh_token = previous_refresh_token
    token_type = _bearer_token_type(data.get("token_type"))
    return Token(
        access_token=access_token,
        token_type=token_type,
        expires_at=expires_at,
        obtained_at=now,
        refresh_token=refresh_token,
        scope=parse_scope(data.get("scope"), requested_scope),
        lifetime_assumed=lifetime_assumed,
    )

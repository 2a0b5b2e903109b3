"""Turning a token endpoint's JSON into a :class:`~ringplus_tui.core.models.Token`.

Real servers send expiry, scope and token type in many shapes; this is the one
place that reads them (RFC 6749 §5.1). Pure functions, no I/O.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ringplus_tui.core.errors import TokenEndpointError
from ringplus_tui.core.models import Token

from .sent_secrets import provider_text

MAX_LIFETIME = 10 * 365.25 * 86400.0
"""Seconds: the longest token lifetime believed (10 years); a longer one is cut to it."""

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""An ASCII decimal: integer or fraction, optional exponent (what a JSON number may be
written as, plus a sign, a leading ``.`` or a trailing ``.``)."""

_ASCII_SPACE = " \t\r\n"


def _unusable(field: str, value: Any) -> TokenEndpointError:
    shown = repr(value) if isinstance(value, str | int | float | bool) else type(value).__name__
    return TokenEndpointError(
        f"The token endpoint sent an unusable '{field}' ({shown:.40}): not a number of "
        "seconds. Nothing was stored; check the app's token endpoint, or tell the provider.",
        title="Unexpected token response",
    )


def provider_number(value: Any, field: str) -> float | None:
    """Read a numeric field of a token response (``expires_in``, ``expires_at``, …).

    Accepted: a JSON number, or a string holding an ASCII decimal (integer or
    fraction, optional exponent, surrounding ASCII spaces ignored). A number too
    large for a float becomes the largest float; callers clamp it.

    Args:
        value: The field's decoded JSON value; ``None`` when absent or ``null``.
        field: Its name, for the message.

    Returns:
        The number, finite; ``None`` when ``value`` is ``None``.

    Raises:
        TokenEndpointError: Anything else: ``true``/``false``, NaN, infinities,
            non-ASCII digits, an empty or other string, a list or an object.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise _unusable(field, value)
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            return sys.float_info.max if value > 0 else -sys.float_info.max
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _unusable(field, value)
        return value
    if isinstance(value, str):
        text = value.strip(_ASCII_SPACE)
        if not _DECIMAL.fullmatch(text):
            raise _unusable(field, value)
        number = float(text)
        if math.isinf(number):  # an exponent past the float range: huge, not infinite
            return math.copysign(sys.float_info.max, number)
        return number
    raise _unusable(field, value)


def clamp_lifetime(seconds: float) -> float:
    """``seconds`` cut to 0…:data:`MAX_LIFETIME` (10 years)."""
    return min(max(seconds, 0.0), MAX_LIFETIME)


def _epoch(value: Any, field: str) -> float | None:
    """An absolute time: UTC epoch seconds as :func:`provider_number` reads them, or an
    ASCII ISO 8601 date-time (``2030-01-01T00:00:00Z``)."""
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip(_ASCII_SPACE)):
        text = value.strip(_ASCII_SPACE)
        if not text.isascii():
            raise _unusable(field, value)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError, OSError):
            raise _unusable(field, value) from None
    return provider_number(value, field)


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
        The token, with an absolute ``expires_at`` between ``now`` and ``now`` plus
        10 years (:data:`MAX_LIFETIME`), from ``expires_in`` (RFC 6749 §5.1), else
        ``expires_at``, else ``default_lifetime``.

    Raises:
        TokenEndpointError: The response has an ``error``, no ``access_token``, a
            ``token_type`` other than Bearer (RFC 6749 §7.1), or an expiry that is
            not a number (see :func:`provider_number`).
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
    expires_in = provider_number(data.get("expires_in"), "expires_in")
    if expires_in is not None:
        expires_at = now + clamp_lifetime(expires_in)
    else:
        absolute = _epoch(data.get("expires_at"), "expires_at")
        if absolute is not None:
            expires_at = now + clamp_lifetime(absolute - now)
        else:
            expires_at = now + clamp_lifetime(default_lifetime)
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

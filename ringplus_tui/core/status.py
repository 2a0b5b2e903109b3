"""Token status and countdown text, computed from absolute times. Pure functions.

The dashboard calls these once per tick with the current time, so a suspend,
a blocked event loop or a clock jump is corrected on the next tick.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from enum import StrEnum

from .models import Account

MIN_REFRESH_MARGIN = 60.0
"""Seconds: the smallest margin before expiry at which a token counts as expiring."""


class TokenStatus(StrEnum):
    """What a person needs to know about an account's token."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    SIGNED_OUT = "signed-out"
    NEEDS_SIGN_IN = "needs-sign-in"


def refresh_margin(lifetime: float) -> float:
    """Seconds before expiry at which a token is due for refresh.

    ``max(60 s, 10 % of the lifetime)``, but never more than half the lifetime,
    so a short-lived token is not due the moment it arrives.

    Args:
        lifetime: The token's lifetime in seconds.
    """
    margin = max(MIN_REFRESH_MARGIN, 0.1 * lifetime)
    return min(margin, max(lifetime, 0.0) / 2)


def account_margin(account: Account) -> float:
    """Seconds before ``expires_at`` at which ``account`` is due for refresh.

    The account's own ``refresh_margin`` when set (never more than half the
    lifetime), else :func:`refresh_margin` of its token's lifetime.
    """
    if account.expires_at is None:
        return MIN_REFRESH_MARGIN
    lifetime = account.expires_at - (account.obtained_at or account.expires_at)
    if account.refresh_margin is not None:
        return min(account.refresh_margin, max(lifetime, 0.0) / 2)
    return refresh_margin(lifetime)


def refresh_due(account: Account, now: float) -> bool:
    """Whether ``account`` should be refreshed at ``now``: signed in, refreshable, inside
    its margin (or expired).

    Args:
        account: The account's stored metadata.
        now: Current time, UTC epoch seconds.
    """
    if account.needs_sign_in or not account.has_refresh_token or not account.signed_in:
        return False
    if account.expires_at is None:
        return True  # a token without a known expiry is treated as expired
    return account.expires_at - now <= account_margin(account)


def token_status(account: Account, now: float) -> TokenStatus:
    """Classify an account's token at time ``now``.

    Args:
        account: The account's stored metadata.
        now: Current time, UTC epoch seconds.

    Returns:
        ``needs-sign-in`` after the provider rejected the refresh token;
        ``signed-out`` without a token; ``expired`` past ``expires_at``;
        ``expiring`` inside the refresh margin; else ``valid``.
    """
    if account.needs_sign_in:
        return TokenStatus.NEEDS_SIGN_IN
    if not account.signed_in:
        return TokenStatus.SIGNED_OUT
    if account.expires_at is None:
        return TokenStatus.EXPIRED  # expiry unknown: never trust it to be fresh
    remaining = account.expires_at - now
    if remaining <= 0:
        return TokenStatus.EXPIRED
    if remaining <= account_margin(account):
        return TokenStatus.EXPIRING
    return TokenStatus.VALID


def format_countdown(seconds: float | None) -> str:
    """Format seconds left, as precisely as is worth reading.

    Under an hour the seconds count (``06:40``, minutes and seconds); under a day
    hours and minutes (``23h 17m``); past that days and hours (``2d 03h``). A
    dashboard of tokens that last a day then changes a row once a minute, not
    every second, and the last hour still counts down by the second.

    Args:
        seconds: Seconds until expiry; ``None`` when unknown, negative when past.

    Returns:
        The text; ``—`` for unknown, ``expired`` when past.
    """
    if seconds is None or math.isnan(seconds):
        return "—"
    if seconds <= 0:
        return "expired"
    if seconds >= _COUNTDOWN_LIMIT:
        return f"{_COUNTDOWN_LIMIT // 86400}d+"
    whole = int(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes:02d}:{secs:02d}"


_COUNTDOWN_LIMIT = 10_000 * 86400
"""Seconds from which :func:`format_countdown` stops counting (``10000d+``)."""


def _datetime(epoch: float | None, *, utc: bool) -> datetime | None:
    if epoch is None or not math.isfinite(epoch):
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC if utc else None)
    except (OverflowError, OSError, ValueError):
        return None


def format_utc(epoch: float | None) -> str:
    """``2026-12-02 01:03:06 UTC`` for UTC epoch seconds; total: ``—`` for ``None``,
    NaN, and times before year 1 or after year 9999 (``after 9999``/``before 0001``)."""
    when = _datetime(epoch, utc=True)
    if when is None:
        return _out_of_range(epoch)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def format_clock_time(epoch: float | None) -> str:
    """``14:05:09``, the local time of day of UTC epoch seconds; total like
    :func:`format_utc`."""
    when = _datetime(epoch, utc=False)
    if when is None:
        return _out_of_range(epoch)
    return when.strftime("%H:%M:%S")


def _out_of_range(epoch: float | None) -> str:
    if epoch is None or math.isnan(epoch):
        return "—"
    return "after 9999" if epoch > 0 else "before 0001"

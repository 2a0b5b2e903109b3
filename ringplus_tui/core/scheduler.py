"""When the dashboard refreshes accounts by itself. Pure logic, no Textual, no I/O.

An account is due at max(60 s, 10 % of its token's lifetime) before
``expires_at`` (or its own margin), unless automatic refresh is off for it.
Temporary failures are retried with growing back-off (30 s, 1 min, 2 min … 15 min,
or the server's ``Retry-After`` when longer); a refresh token the provider
rejected marks the account ``needs-sign-in``, which is never retried. No account
is refreshed automatically more often than every :data:`MIN_INTERVAL` seconds, so
a token shorter-lived than its margin never loops.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .errors import NetworkError, RingPlusError
from .models import Account
from .status import refresh_due

BASE_DELAY = 30.0
"""Seconds before the first retry after a temporary failure."""
MAX_DELAY = 900.0
"""The longest wait between retries, seconds."""
MIN_INTERVAL = 30.0
"""The shortest time between two automatic refreshes of one account, seconds."""


@dataclass(frozen=True)
class RetryState:
    """An account's failed attempts.

    Attributes:
        failures: Consecutive failed attempts.
        next_attempt: Earliest time of the next automatic attempt, UTC epoch seconds.
        error: The last error's message.
    """

    failures: int
    next_attempt: float
    error: str


class RefreshScheduler:
    """Decides which accounts to refresh now, and when to retry failures."""

    def __init__(self) -> None:
        self._retry: dict[str, RetryState] = {}
        self._last_attempt: dict[str, float] = {}

    def due(self, accounts: Iterable[Account], now: float, busy: set[str]) -> list[str]:
        """Names of the accounts to refresh at ``now`` (UTC epoch seconds).

        Args:
            accounts: Every account.
            now: Current time.
            busy: Accounts already being refreshed.
        """
        names = []
        for account in accounts:
            if not account.auto_refresh or account.name in busy:
                continue
            if not refresh_due(account, now):
                continue
            retry = self._retry.get(account.name)
            if retry is not None and now < retry.next_attempt:
                continue
            if now - self._last_attempt.get(account.name, float("-inf")) < MIN_INTERVAL:
                continue
            names.append(account.name)
        return names

    def started(self, name: str, now: float) -> None:
        """Note that an automatic refresh of ``name`` began at ``now``."""
        self._last_attempt[name] = now

    def succeeded(self, name: str) -> None:
        """Forget ``name``'s failures."""
        self._retry.pop(name, None)

    def failed(self, name: str, error: RingPlusError, now: float) -> RetryState:
        """Record a failure and schedule the retry.

        Returns:
            The new retry state (``next_attempt`` is when it will be tried again).
        """
        failures = self._retry[name].failures + 1 if name in self._retry else 1
        delay = min(BASE_DELAY * 2 ** (failures - 1), MAX_DELAY)
        if isinstance(error, NetworkError) and error.retry_after:
            delay = max(delay, min(error.retry_after, MAX_DELAY))
        state = RetryState(failures=failures, next_attempt=now + delay, error=error.message)
        self._retry[name] = state
        return state

    def retry(self, name: str) -> RetryState | None:
        """``name``'s retry state, if its last attempt failed."""
        return self._retry.get(name)

    def forget(self, name: str) -> None:
        """Drop everything about ``name`` (renamed or removed)."""
        self._retry.pop(name, None)
        self._last_attempt.pop(name, None)


class RefreshBoard:
    """What the screens show about refreshing: who is busy, what failed, progress.

    The app owns one and changes it; screens only read it.

    Attributes:
        scheduler: Decides automatic refreshes and retries.
        busy: Accounts being refreshed now.
        errors: The last error message of each account whose last refresh failed.
        progress: A line about a running "refresh all", or empty.
    """

    def __init__(self) -> None:
        self.scheduler = RefreshScheduler()
        self.busy: set[str] = set()
        self.errors: dict[str, str] = {}
        self.progress = ""

    def note(self, name: str, now: float) -> str:
        """A short note for ``name``'s row: ``retry 00:25`` or ``error``, or empty."""
        if name not in self.errors:
            return ""
        retry = self.scheduler.retry(name)
        if retry is not None and retry.next_attempt > now:
            left = int(retry.next_attempt - now)
            return f"retry {left // 60:02d}:{left % 60:02d}"
        return "error"

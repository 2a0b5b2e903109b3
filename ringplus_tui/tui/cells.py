"""How account values look on screen: status text and style, clock times, summaries.

Every screen draws accounts with these, so no screen needs another's code. Pure
functions of a record, the live state and the time (UTC epoch seconds).
"""

from __future__ import annotations

from rich.text import Text

from ringplus_tui.core.models import Account
from ringplus_tui.core.safe_text import MAX_SHOWN, safe_text
from ringplus_tui.core.scheduler import RefreshBoard
from ringplus_tui.core.status import (
    TokenStatus,
    format_clock_time,
    format_countdown,
    format_utc,
    token_status,
)
from ringplus_tui.service.live import BatchResult

STATUS_STYLE = {
    TokenStatus.VALID: "bold green",
    TokenStatus.EXPIRING: "bold yellow",
    TokenStatus.EXPIRED: "bold red",
    TokenStatus.SIGNED_OUT: "dim",
    TokenStatus.NEEDS_SIGN_IN: "bold magenta",
}

COLUMNS = ("Account", "Status", "Left", "Expires", "App", "User", "Lines", "Refreshed")
"""The dashboard's columns: what dies when comes first, so it is visible at 80
columns; the rest scrolls."""
WIDTHS = (None, 19, 7, 8, None, None, 5, 9)
"""Fixed widths where the content's width is known: nothing to measure for 1,000 rows."""
LIVE = range(1, 4)
"""The columns a tick changes: status, countdown, expiry."""
BROKEN_ROW: tuple[Text | str, ...] = (
    "",
    Text("expiry unknown", style="red"),
    "—",
    "—",
    "",
    "",
    "",
    "—",
)
"""The cells of a record that cannot be drawn (one bad record must not stop the others)."""


def plain(value: object, *, style: str = "", limit: int = MAX_SHOWN) -> Text:
    """External text (a name, a user, a provider's message) as a :class:`Text` that is
    never read as markup, its control characters escaped
    (:func:`~ringplus_tui.core.safe_text.safe_text`). ``[/]`` or ``[@click=…]`` in a
    provider's text is shown as those characters and does nothing."""
    return Text(safe_text(value, limit=limit), style=style)


def clock_time(epoch: float | None) -> str:
    """Local wall-clock time ``HH:MM:SS`` of an epoch, or ``—``; never raises
    (:func:`~ringplus_tui.core.status.format_clock_time`)."""
    return format_clock_time(epoch)


def utc_time(epoch: float | None) -> str:
    """``YYYY-MM-DD HH:MM:SS UTC`` of an epoch, or ``—``; never raises
    (:func:`~ringplus_tui.core.status.format_utc`)."""
    return format_utc(epoch)


def status_text(account: Account, now: float, board: RefreshBoard) -> Text:
    """The status cell: the token's status, or ``refreshing…``, plus a retry/error note."""
    if account.name in board.busy:
        return Text("refreshing…", style="bold cyan")
    status = token_status(account, now)
    text = Text(status.value, style=STATUS_STYLE[status])
    note = board.note(account.name, now)
    if note:
        text.append(f" · {safe_text(note)}", style="red")
    return text


def user_name(user: str | None) -> str:
    """The person's name without the address (``Alice <a@x>`` → ``Alice``), or ``—``."""
    if not user:
        return "—"
    return user.split(" <", 1)[0]


def row_cells(account: Account, now: float, board: RefreshBoard) -> tuple[Text | str, ...]:
    """One dashboard row, in :data:`COLUMNS` order."""
    remaining = None if account.expires_at is None else account.expires_at - now
    return (
        plain(account.name),
        status_text(account, now, board),
        format_countdown(remaining),
        clock_time(account.expires_at),
        plain(account.app),
        plain(user_name(account.user)),
        "—" if account.phone_lines is None else str(account.phone_lines),
        clock_time(account.last_refresh_at),
    )


def batch_summary(result: BatchResult) -> str:
    """The line that ends a "refresh all": how many were refreshed, how many failed."""
    summary = f"Refreshed {result.succeeded} of {result.total} accounts"
    return summary + (f"; {result.failed} failed (see their rows)." if result.failed else ".")

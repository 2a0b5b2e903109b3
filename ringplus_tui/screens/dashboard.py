"""The dashboard: every account, its token status and a live countdown.

One timer drives every countdown: each tick reads the clock once and recomputes
each row from the absolute ``expires_at``, so nothing drifts. Refreshes run in
workers (one per account at most) and never block the screen.
"""

from __future__ import annotations

import time
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static

from ..errors import RingPlusError
from ..messages import AddAccount, SignIn
from ..models import Account
from ..service import Clock, OAuthService
from ..status import TokenStatus, format_countdown, token_status

_STATUS_STYLE = {
    TokenStatus.VALID: "bold green",
    TokenStatus.EXPIRING: "bold yellow",
    TokenStatus.EXPIRED: "bold red",
    TokenStatus.SIGNED_OUT: "dim",
    TokenStatus.NEEDS_SIGN_IN: "bold magenta",
}
_COLUMNS = ("Account", "App", "Status", "Expires in", "Expires at", "Last refresh")


def _clock_time(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


class DashboardScreen(Screen[None]):
    """All accounts with status and countdown; refresh and sign in from here.

    Args:
        service: The OAuth service.
        clock: Returns the current time, UTC epoch seconds (tests freeze it).
    """

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [
        Binding("r", "refresh", "Refresh"),
        Binding("s", "sign_in", "Sign in"),
        Binding("a", "add_account", "Add account"),
        Binding("c", "edit_app", "App credentials"),
    ]

    def __init__(self, service: OAuthService, *, clock: Clock = time.time) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self._busy: set[str] = set()
        self._errors: dict[str, str] = {}
        self._rows: list[str] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("No accounts yet. Press [b]a[/b] to add one.", id="empty", markup=True)
        table: DataTable[Text | str] = DataTable(
            id="accounts", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static("", id="last-result")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Accounts · secrets in {self.service.secret_backend}"
        table = self.query_one(DataTable)
        for name in _COLUMNS:
            table.add_column(name, key=name)
        self.reload()
        self._timer = self.set_interval(1.0, self.tick)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self) -> None:
        self.reload()
        if self._timer is not None:
            self._timer.resume()

    # -- drawing -----------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """Name of the account under the cursor, if any."""
        table = self.query_one(DataTable)
        if not self._rows or table.cursor_row < 0 or table.cursor_row >= len(self._rows):
            return None
        return self._rows[table.cursor_row]

    def _ordered(self) -> list[Account]:
        accounts = list(self.service.settings.accounts.values())
        return sorted(accounts, key=lambda a: (a.expires_at is None, a.expires_at or 0, a.name))

    def reload(self) -> None:
        """Rebuild the rows from the settings (sorted by expiry, soonest first)."""
        table = self.query_one(DataTable)
        keep = self.selected
        table.clear()
        self._rows = []
        now = self.clock()
        for account in self._ordered():
            table.add_row(*self._cells(account, now), key=account.name)
            self._rows.append(account.name)
        self.query_one("#empty").display = not self._rows
        table.display = bool(self._rows)
        if keep in self._rows:
            table.move_cursor(row=self._rows.index(keep))

    def _status_text(self, account: Account, now: float) -> Text:
        if account.name in self._busy:
            return Text("refreshing…", style="bold cyan")
        status = token_status(account, now)
        text = Text(status.value, style=_STATUS_STYLE[status])
        if account.name in self._errors:
            text.append(" · error", style="bold red")
        return text

    def _cells(self, account: Account, now: float) -> tuple[Text | str, ...]:
        remaining = None if account.expires_at is None else account.expires_at - now
        return (
            account.name,
            account.app,
            self._status_text(account, now),
            format_countdown(remaining),
            _clock_time(account.expires_at),
            _clock_time(account.last_refresh_at),
        )

    def tick(self) -> None:
        """Update every row's status and countdown from the clock (one read per tick)."""
        table = self.query_one(DataTable)
        now = self.clock()
        accounts = self.service.settings.accounts
        if set(accounts) != set(self._rows):
            self.reload()
            return
        for row, name in enumerate(self._rows):
            account = accounts[name]
            try:
                cells = self._cells(account, now)
            except Exception as err:  # one bad record must not stop the others
                cells = (name, account.app, Text(f"error: {err}", style="red"), "—", "—", "—")
            for column, value in enumerate(cells[2:5], start=2):
                table.update_cell_at(Coordinate(row, column), value)

    def _report(self, text: str, *, error: bool = False) -> None:
        line = self.query_one("#last-result", Static)
        line.update(text)
        line.set_class(error, "-error")

    # -- actions -------------------------------------------------------------

    def action_refresh(self) -> None:
        """Refresh the selected account's token in a worker."""
        name = self.selected
        if name is None:
            self.notify("No account selected.", severity="warning")
            return
        self._busy.add(name)
        self._errors.pop(name, None)
        self.tick()
        self._report(f"Refreshing {name}…")
        self.run_worker(
            self._refresh(name), group=f"refresh:{name}", exclusive=True, exit_on_error=False
        )

    async def _refresh(self, name: str) -> None:
        try:
            account = await self.service.refresh(name)
        except RingPlusError as err:
            self._errors[name] = err.message
            self._report(f"{name}: {err.title}. {err.message}", error=True)
            self.notify(err.message, title=f"{name}: {err.title}", severity="error")
            return
        finally:
            self._busy.discard(name)
            self.reload()
        left = format_countdown((account.expires_at or 0) - self.clock())
        self._report(f"Refreshed {name}: new expiry {_clock_time(account.expires_at)} (in {left}).")
        self.notify(f"New expiry {_clock_time(account.expires_at)}.", title=f"Refreshed {name}")

    def action_sign_in(self) -> None:
        """Sign the selected account in again."""
        name = self.selected
        if name is None:
            self.action_add_account()
            return
        self.post_message(SignIn(name))

    def action_add_account(self) -> None:
        """Add an account (and its app's credentials)."""
        self.post_message(AddAccount(app=None))

    def action_edit_app(self) -> None:
        """Edit the selected account's app credentials."""
        name = self.selected
        app = self.service.settings.accounts[name].app if name else None
        self.post_message(AddAccount(app=app, account=name))

    @on(DataTable.RowSelected)
    def row_selected(self, event: DataTable.RowSelected) -> None:
        name = self.selected
        if name is None:
            return
        status = token_status(self.service.settings.accounts[name], self.clock())
        if status in (TokenStatus.SIGNED_OUT, TokenStatus.NEEDS_SIGN_IN):
            self.post_message(SignIn(name))
        else:
            self.action_refresh()

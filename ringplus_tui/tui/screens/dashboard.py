"""The dashboard: every account, its token status and a live countdown.

The app's one timer sends a :class:`~ringplus_tui.tui.messages.Tick` each second;
each tick recomputes every visible row from the absolute ``expires_at``, so
nothing drifts. Refreshes are requested from the app, which runs them in workers.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Static

from ringplus_tui.core.models import Account
from ringplus_tui.core.scheduler import RefreshBoard
from ringplus_tui.core.status import TokenStatus, format_countdown, token_status
from ringplus_tui.service.facade import Clock, OAuthService

from ..messages import AccountsChanged, AddAccount, RefreshRequested, SignIn, Tick
from ..widgets import CountdownTable, KeysFooter

STATUS_STYLE = {
    TokenStatus.VALID: "bold green",
    TokenStatus.EXPIRING: "bold yellow",
    TokenStatus.EXPIRED: "bold red",
    TokenStatus.SIGNED_OUT: "dim",
    TokenStatus.NEEDS_SIGN_IN: "bold magenta",
}
COLUMNS = ("Account", "Status", "Left", "Expires", "App", "User", "Lines", "Refreshed")
"""What dies when comes first, so it is visible at 80 columns; the rest scrolls."""
WIDTHS = (None, 19, 7, 8, None, None, 5, 9)
"""Fixed widths where the content's width is known: nothing to measure for 1,000 rows."""
_LIVE = range(1, 4)  # the columns a tick changes: status, countdown, expiry


def clock_time(epoch: float | None) -> str:
    """Local wall-clock time ``HH:MM:SS`` of an epoch, or ``—``."""
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch).strftime("%H:%M:%S")


def status_text(account: Account, now: float, board: RefreshBoard) -> Text:
    """The status cell: the token's status, or ``refreshing…``, plus a retry/error note."""
    if account.name in board.busy:
        return Text("refreshing…", style="bold cyan")
    status = token_status(account, now)
    text = Text(status.value, style=STATUS_STYLE[status])
    note = board.note(account.name, now)
    if note:
        text.append(f" · {note}", style="red")
    return text


def _user_name(user: str | None) -> str:
    if not user:
        return "—"
    return user.split(" <", 1)[0]


class DashboardScreen(Screen[None]):
    """All accounts with status and countdown; refresh and sign in from here.

    Args:
        service: The OAuth service.
        board: The app's refresh state (busy accounts, errors, progress).
        clock: Returns the current time, UTC epoch seconds.
    """

    CSS_PATH = "dashboard.tcss"
    AUTO_FOCUS = "#accounts"
    BINDINGS = [
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_all", "All"),
        Binding("s", "sign_in", "Sign in"),
        Binding("a", "add_account", "Add"),
        Binding("enter", "open", "Details", show=False),
        Binding("A", "apps", "Apps"),
        Binding("slash", "filter", "Filter"),
        Binding("q", "app.quit", "Quit"),
    ]

    def __init__(self, service: OAuthService, board: RefreshBoard, *, clock: Clock) -> None:
        super().__init__()
        self.service = service
        self.board = board
        self.clock = clock
        self._rows: list[str] = []
        self._shown: dict[tuple[int, int], Text | str] = {}
        self._resumed = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="Filter accounts (/)", id="filter", compact=True)
        yield Static("No accounts yet. Press [b]a[/b] to add one.", id="empty", markup=True)
        table: CountdownTable[Text | str] = CountdownTable(
            id="accounts", cursor_type="row", zebra_stripes=True, fixed_columns=1
        )  # the account name stays in view when a narrow terminal scrolls sideways
        yield table
        yield Static("", id="last-result")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.sub_title = f"Accounts · {self.service.secret_backend}"
        self.reload()

    def on_screen_resume(self) -> None:
        if self._resumed:  # the first resume follows mount, which just drew the rows
            self.reload()
        self._resumed = True

    # -- drawing -----------------------------------------------------------

    @property
    def selected(self) -> str | None:
        """Name of the account under the cursor, if any."""
        table = self.query_one(DataTable)
        row = table.cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def _visible(self) -> list[Account]:
        words = self.query_one("#filter", Input).value.strip().lower()
        accounts = [
            account
            for account in self.service.settings.accounts.values()
            if not words or words in f"{account.name} {account.app} {account.user or ''}".lower()
        ]
        return sorted(accounts, key=lambda a: (a.expires_at is None, a.expires_at or 0, a.name))

    def reload(self) -> None:
        """Rebuild the rows (sorted by expiry, soonest first, filtered)."""
        table = self.query_one(DataTable)
        keep = self.selected
        table.clear(columns=True)  # columns again, so their widths shrink back to fit
        for name, width in zip(COLUMNS, WIDTHS, strict=True):
            table.add_column(name, key=name, width=width)
        self._rows = []
        self._shown = {}
        now = self.clock()
        for account in self._visible():
            table.add_row(*self._cells(account, now), key=account.name)
            self._rows.append(account.name)
        empty = not self.service.settings.accounts
        self.query_one("#empty").display = empty
        table.display = not empty
        no_match = "No account matches the filter; Escape clears it."
        if not empty and not self._rows:
            self.report(no_match)
        elif str(self.query_one("#last-result", Static).render()) == no_match:
            self.report("")  # the filter matches again
        if keep in self._rows:
            table.move_cursor(row=self._rows.index(keep))
        self._show_progress()

    def _cells(self, account: Account, now: float) -> tuple[Text | str, ...]:
        remaining = None if account.expires_at is None else account.expires_at - now
        return (
            account.name,
            status_text(account, now, self.board),
            format_countdown(remaining),
            clock_time(account.expires_at),
            account.app,
            _user_name(account.user),
            "—" if account.phone_lines is None else str(account.phone_lines),
            clock_time(account.last_refresh_at),
        )

    @on(Tick)
    def tick(self, message: Tick) -> None:
        """Update the visible rows' status and countdown (one clock read per tick, by the
        app). Rows scrolled out of view are brought up to date when they scroll in,
        so a thousand accounts cost no more per second than a screenful."""
        table = self.query_one(DataTable)
        accounts = self.service.settings.accounts
        if len(accounts) != len(self._rows) or any(n not in accounts for n in self._rows):
            self.reload()
            return
        first = max(0, int(table.scroll_y))
        last = min(len(self._rows), first + table.size.height + 1)
        changes: list[tuple[str, str, Text | str]] = []
        for row in range(first, last):
            name = self._rows[row]
            try:
                cells = self._cells(accounts[name], message.now)
            except Exception:  # one bad record must not stop the others
                cells = ("", Text("expiry unknown", style="red"), "—", "—", "", "", "", "—")
            for column in _LIVE:
                value = cells[column]
                if self._shown.get((row, column)) != value:
                    self._shown[(row, column)] = value
                    changes.append((name, COLUMNS[column], value))
        self.query_one(CountdownTable).update_live_cells(changes)
        self._show_progress()

    @on(AccountsChanged)
    def accounts_changed(self) -> None:
        self.reload()

    def _show_progress(self) -> None:
        if self.board.progress:
            self.report(self.board.progress)

    def report(self, text: str, *, error: bool = False) -> None:
        """Show a line under the table (the result of the last action)."""
        line = self.query_one("#last-result", Static)
        line.update(text)
        line.set_class(error, "-error")

    # -- actions -------------------------------------------------------------

    def action_refresh(self) -> None:
        """Refresh the selected account's token now."""
        name = self.selected
        if name is None:
            self.notify("No account selected.", severity="warning")
            return
        self.post_message(RefreshRequested((name,)))

    def action_refresh_all(self) -> None:
        """Refresh every signed-in account, at most 8 at a time."""
        now = self.clock()
        names = tuple(
            a.name
            for a in self.service.settings.accounts.values()
            if a.signed_in and token_status(a, now) != TokenStatus.NEEDS_SIGN_IN
        )
        if not names:
            self.notify("No signed-in account to refresh.", severity="warning")
            return
        self.post_message(RefreshRequested(names))

    def action_sign_in(self) -> None:
        """Sign the selected account in again."""
        name = self.selected
        if name is None:
            self.action_add_account()
            return
        self.post_message(SignIn(name))

    def action_add_account(self) -> None:
        """Add an account (choosing or entering its app)."""
        name = self.selected
        app = self.service.settings.accounts[name].app if name else None
        self.post_message(AddAccount(app=app))

    def action_apps(self) -> None:
        """Open the list of apps."""
        from .apps import AppsScreen

        self.app.push_screen(AppsScreen(self.service))

    def action_open(self) -> None:
        """Open the selected account's details."""
        name = self.selected
        if name is None:
            return
        from .account import AccountScreen

        self.app.push_screen(AccountScreen(self.service, self.board, name, clock=self.clock))

    @on(DataTable.RowSelected)
    def row_selected(self) -> None:
        self.action_open()

    def action_filter(self) -> None:
        """Focus the filter box."""
        self.query_one("#filter").focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self) -> None:
        self.reload()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        self.query_one(DataTable).focus()

    def key_escape(self) -> None:
        """Escape clears the filter and returns to the table."""
        field = self.query_one("#filter", Input)
        if field.value or field.has_focus:
            field.value = ""
            self.query_one(DataTable).focus()

"""The dashboard: every account, its token status and a live countdown.

The app's one tick (a signal every screen hears, also under a dialog) recomputes
the visible rows' status and countdown from the absolute ``expires_at``, so
nothing drifts. Account events change the rows they name, in place; only accounts
added or removed (or filtered in or out) add or remove rows. The order by expiry
is restored once when a "refresh all" ends and otherwise at most once a tick,
with the cursor staying on its account. Refreshes are requested from the app.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Input, Static

from ringplus_tui.core.models import Account
from ringplus_tui.core.scheduler import RefreshBoard
from ringplus_tui.core.status import TokenStatus, token_status
from ringplus_tui.service.facade import Clock, OAuthService
from ringplus_tui.service.live import AccountEvent, Change

from ..cells import (
    BROKEN_ROW,
    COLUMNS,
    LIVE,
    WIDTHS,
    batch_summary,
    clock_time,
    plain,
    row_cells,
)
from ..messages import AddAccount, OpenAccount, OpenApps, RefreshRequested, SignIn
from ..signals import LiveScreen
from ..widgets import CountdownTable, KeysFooter

_FIXED_WIDTH = {index for index, width in enumerate(WIDTHS) if width is not None}
NO_MATCH = "No account matches the filter; Escape clears it."
BATCH_FLUSH_DELAY = 0.25
"""Seconds a "refresh all"'s rows wait to be drawn together (its end draws at once)."""


def _order(account: Account) -> tuple[bool, float, str]:
    """Soonest expiry first; accounts without one last."""
    return (account.expires_at is None, account.expires_at or 0, account.name)


class DashboardScreen(LiveScreen[None]):
    """All accounts with status and countdown; refresh and sign in from here.

    Args:
        service: The OAuth service.
        board: The live refresh state (busy accounts, errors, progress); read only.
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
    COMMANDS_OF_THE_PALETTE = (
        ("Refresh", "Refresh the selected account", "refresh"),
        ("Refresh all", "Refresh every signed-in account", "refresh_all"),
        ("Sign in", "Sign the selected account in again", "sign_in"),
        ("Add account", "Add an account and its app", "add_account"),
        ("Account details", "Open the selected account", "open"),
        ("Apps", "Add, edit, rename or remove apps", "apps"),
    )
    """(title, help, action) of the command palette's entries for this screen."""

    def __init__(self, service: OAuthService, board: RefreshBoard, *, clock: Clock) -> None:
        super().__init__()
        self.service = service
        self.board = board
        self.clock = clock
        self._rows: list[str] = []
        self._shown: dict[tuple[str, int], Text | str] = {}
        self._resumed = False
        self._pending: set[str] = set()  # rows an event changed, not drawn yet
        self._check_rows = False  # an event may have added or removed accounts
        self._flush_due = False
        self._unsorted = False  # a row's expiry changed since the last sort
        self._batches = 0

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

    @property
    def rows(self) -> tuple[str, ...]:
        """The accounts shown, top to bottom."""
        return tuple(self._rows)

    def _matches(self, account: Account) -> bool:
        words = self.query_one("#filter", Input).value.strip().lower()
        return not words or words in f"{account.name} {account.app} {account.user or ''}".lower()

    def _visible(self) -> list[Account]:
        accounts = [a for a in self.service.settings.accounts.values() if self._matches(a)]
        return sorted(accounts, key=_order)

    def reload(self) -> None:
        """Rebuild the rows (sorted by expiry, soonest first, filtered)."""
        table = self.query_one(DataTable)
        keep = self.selected
        table.clear(columns=True)  # columns again, so their widths shrink back to fit
        for name, width in zip(COLUMNS, WIDTHS, strict=True):
            table.add_column(name, key=name, width=width)
        self._rows = []
        self._shown = {}
        self._pending.clear()
        self._check_rows = self._unsorted = False
        now = self.clock()
        for account in self._visible():
            self._add_row(table, account, now)
            self._rows.append(account.name)
        self._after_rows_changed(keep)

    def _after_rows_changed(self, keep: str | None) -> None:
        table = self.query_one(DataTable)
        empty = not self.service.settings.accounts
        self.query_one("#empty").display = empty
        table.display = not empty
        if not empty and not self._rows:
            self.report(NO_MATCH)
        elif str(self.query_one("#last-result", Static).render()) == NO_MATCH:
            self.report("")  # the filter matches again
        if keep in self._rows and table.cursor_row != self._rows.index(keep):
            table.move_cursor(row=self._rows.index(keep))
        self._show_progress()

    def _cells(self, account: Account, now: float) -> tuple[Text | str, ...]:
        try:
            return row_cells(account, now, self.board)
        except Exception:  # one bad record must not stop the others
            return (plain(account.name), *BROKEN_ROW[1:])

    def _add_row(self, table: DataTable[Text | str], account: Account, now: float) -> None:
        cells = self._cells(account, now)
        table.add_row(*cells, key=account.name)
        for column in LIVE:  # what the table shows, so a tick changes only what differs
            self._shown[(account.name, column)] = cells[column]

    def _sync_rows(self) -> None:
        """Add the rows of accounts that appeared and remove those of accounts that went
        (or that the filter hides now); the other rows stay as they are."""
        table = self.query_one(CountdownTable)
        accounts = self.service.settings.accounts
        wanted = {name for name, a in accounts.items() if self._matches(a)}
        shown = set(self._rows)
        if wanted == shown:
            return
        keep = self.selected
        now = self.clock()
        for name in shown - wanted:
            table.remove_row(name)
            for column in LIVE:
                self._shown.pop((name, column), None)
        for name in sorted(wanted - shown):
            self._add_row(table, accounts[name], now)
        self._rows = [n for n in self._rows if n in wanted] + sorted(wanted - shown)
        self._sort(keep)
        self._after_rows_changed(keep)

    def _update_rows(self, names: set[str]) -> None:
        """Draw the changed accounts' rows again, in place."""
        table = self.query_one(CountdownTable)
        accounts = self.service.settings.accounts
        now = self.clock()
        changes: list[tuple[str, str, Text | str]] = []
        for name in names:
            account = accounts.get(name)
            if account is None or name not in table.rows:
                continue
            row = table.get_row(name)
            for column, value in enumerate(self._cells(account, now)):
                if column == 0 or row[column] == value:
                    continue
                if column in _FIXED_WIDTH:
                    changes.append((name, COLUMNS[column], value))
                else:  # a name of unknown width: let the column grow to fit it
                    table.update_cell(name, COLUMNS[column], value, update_width=True)
                if column in LIVE:
                    self._shown[(name, column)] = value
            self._unsorted = True
        table.update_live_cells(changes)

    def _sort(self, keep: str | None = None) -> None:
        """Order the rows by expiry (soonest first), the cursor staying on its account."""
        self._unsorted = False
        accounts = self.service.settings.accounts
        order = sorted((n for n in self._rows if n in accounts), key=lambda n: _order(accounts[n]))
        if order == self._rows:
            return
        keep = keep or self.selected
        position = {name: index for index, name in enumerate(order)}
        table = self.query_one(CountdownTable)
        shown = {plain(name).plain: index for name, index in position.items()}

        def place(cell: object) -> int:  # the Account cell is a Text (never markup)
            return shown.get(cell.plain if isinstance(cell, Text) else str(cell), len(shown))

        table.sort("Account", key=place)
        self._rows = order
        if keep in position:
            table.move_cursor(row=position[keep])

    def _flush(self) -> None:
        """Apply the events that came since the last flush, in one pass."""
        self._flush_due = False
        if self._check_rows:
            self._check_rows = False
            self._sync_rows()
        names, self._pending = self._pending, set()
        self._update_rows(names)

    def live_event(self, event: AccountEvent) -> None:
        """Note what the event changed; the rows are drawn once for all events that
        arrive together."""
        if event.change is Change.UPDATED:
            self._check_rows = True
            if not event.names:  # any account may have changed (an app renamed, say)
                self._pending.update(self._rows)
        self._pending.update(event.names)
        if event.change is Change.BATCH_STARTED:
            self._batches += 1
            self._show_progress()  # and then once a tick: each line costs a layout
        if self.is_current and not event.batch:
            if event.change is Change.REFRESHED and event.account is not None:
                expiry = clock_time(event.account.expires_at)
                self.report(f"Refreshed {event.account.name}: new expiry {expiry}.")
            elif event.change is Change.FAILED and event.error is not None:
                error = event.error
                self.report(f"{event.names[0]}: {error.title}. {error.message}", error=True)
        if event.change is Change.BATCH_DONE:
            self._batches = max(0, self._batches - 1)
            self._flush()
            self._sort()
            if self.is_current and event.result is not None:
                self.report(batch_summary(event.result), error=bool(event.result.failed))
            return
        if not self._flush_due:
            self._flush_due = True
            if event.batch:  # dozens a second: draw them together, a few times a second
                self.set_timer(BATCH_FLUSH_DELAY, self._flush, name="draw refreshed rows")
            else:
                self.call_later(self._flush)

    def live_tick(self, now: float) -> None:
        """Update the visible rows' status and countdown (one clock read per tick, by the
        app). Rows scrolled out of view are brought up to date when they scroll in,
        so a thousand accounts cost no more per second than a screenful."""
        table = self.query_one(CountdownTable)
        accounts = self.service.settings.accounts
        if len(accounts) != len(self._rows) or any(n not in accounts for n in self._rows):
            self._sync_rows()
        if self._unsorted and not self._batches:
            self._sort()
        first = max(0, int(table.scroll_y))
        last = min(len(self._rows), first + table.size.height + 1)
        changes: list[tuple[str, str, Text | str]] = []
        for row in range(first, last):
            name = self._rows[row]
            account = accounts.get(name)
            if account is None:
                continue
            cells = self._cells(account, now)
            for column in LIVE:
                value = cells[column]
                if self._shown.get((name, column)) != value:
                    self._shown[(name, column)] = value
                    changes.append((name, COLUMNS[column], value))
        table.update_live_cells(changes)
        self._show_progress()

    def _show_progress(self) -> None:
        if self.board.progress:
            self.report(self.board.progress)

    def report(self, text: str, *, error: bool = False) -> None:
        """Show a line under the table (the result of the last action)."""
        line = self.query_one("#last-result", Static)
        line.update(plain(text))
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
        self.post_message(OpenApps())

    def action_open(self) -> None:
        """Open the selected account's details."""
        name = self.selected
        if name is None:
            return
        self.post_message(OpenAccount(name))

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

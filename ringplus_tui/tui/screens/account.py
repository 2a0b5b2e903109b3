"""One account in detail: token metadata, the masked access token, phone lines, actions.

Actions that touch the provider or the keyring run in workers; the destructive ones
(revoke, forget) ask first.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, DataTable, Header, Label, Static

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.models import Account, mask
from ringplus_tui.core.scheduler import RefreshBoard
from ringplus_tui.core.status import account_margin, format_countdown
from ringplus_tui.service.facade import Clock, OAuthService
from ringplus_tui.service.live import AccountEvent, Change

from ..cells import plain, status_text, utc_time
from ..messages import (
    AccountRemoved,
    AccountRenamed,
    PasswordSignIn,
    RefreshRequested,
    SignIn,
    TokensDropped,
)
from ..signals import LiveScreen
from ..widgets import KeysFooter
from .modals import ConfirmModal, TextModal


class AccountScreen(LiveScreen[None]):
    """Details and actions for one account.

    Args:
        service: The OAuth service.
        board: The live refresh state (busy accounts, errors); read only.
        account: The account's name.
        clock: Returns the current time, UTC epoch seconds.
    """

    CSS_PATH = "account.tcss"
    BINDINGS = [
        Binding(
            "escape", "back", "Back", show=False, tooltip="Back to the dashboard"
        ),  # Escape: the footer has no room
        Binding("r", "refresh", "Refresh"),
        Binding("s", "sign_in", "Sign in", tooltip="Sign in again in the browser"),
        Binding("p", "password", "Password", tooltip="Sign in with a password"),
        # On screen as buttons beside the token; kept off the footer so that
        # Revoke, Forget and Remove fit in 100 columns.
        Binding("v", "reveal", "Reveal", show=False, tooltip="Show or hide the access token"),
        Binding("y", "copy", "Copy", show=False, tooltip="Copy the access token"),
        Binding("t", "toggle_auto", "Auto", tooltip="Turn automatic refresh on or off"),
        Binding("n", "rename", "Rename"),
        Binding("x", "revoke", "Revoke", tooltip="Revoke the tokens at the provider"),
        Binding("f", "forget", "Forget", tooltip="Delete the tokens here, keep the account"),
        Binding("d", "remove", "Remove", tooltip="Remove the account and its tokens"),
    ]

    def __init__(
        self, service: OAuthService, board: RefreshBoard, account: str, *, clock: Clock
    ) -> None:
        super().__init__()
        self.service = service
        self.board = board
        self.account = account
        self.clock = clock
        self._token: str | None = None
        self._revealed = False
        self._own_news = 0  # UPDATED events this screen caused, already drawn
        self._own_change = False  # a rename or removal by this screen is under way

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static("", id="details")
            with Horizontal(id="token-row"):
                yield Label("Access token", classes="label")
                yield Static("—", id="token")
                yield Button("Reveal", id="reveal")
                yield Button("Copy", id="copy")
            yield Label("Phone lines", id="lines-title")
            lines: DataTable[str] = DataTable(id="lines", cursor_type="none")
            yield lines
            yield Static("", id="message")
        # Compact, and without the palette hint (Ctrl+P still works) or Escape, so
        # that every key down to Remove fits in 80 columns.
        yield KeysFooter(compact=True, show_command_palette=False)

    @property
    def record(self) -> Account | None:
        """The account's current record (``None`` once removed)."""
        return self.service.settings.accounts.get(self.account)

    def on_mount(self) -> None:
        table = self.query_one("#lines", DataTable)
        for column in ("Name", "Number", "Device"):
            table.add_column(column)
        self.redraw(self.clock())
        self.load_token()
        self.load_lines()

    def redraw(self, now: float) -> None:
        """Draw the details from the settings at ``now``."""
        account = self.record
        if account is None:
            # Removed elsewhere: nothing to show (this screen's own rename or removal
            # is under way otherwise, and says itself where to go).
            if not self._own_change and self.is_current:
                self.dismiss(None)
            return
        self.sub_title = f"{account.name} · {account.app}"
        left = None if account.expires_at is None else account.expires_at - now
        if account.auto_refresh:
            auto = f"on, {format_countdown(account_margin(account))} before expiry"
        else:
            auto = "off"
        rows: list[tuple[str, str | Text]] = [
            ("Status", status_text(account, now, self.board)),
            ("Expires in", format_countdown(left)),
            ("User", account.user or "—"),
        ]
        if account.subject:
            # From the verified OpenID Connect id_token (Core §2).
            rows.append(("Subject", f"{account.subject} (verified id_token)"))
            rows.append(("Email", account.email or "—"))
        rows += [
            ("App", account.app),
            ("Scopes", " ".join(account.scope) or "—"),
            ("Obtained at", utc_time(account.obtained_at)),
            (
                "Expires at",
                utc_time(account.expires_at) + (" (assumed)" if account.lifetime_assumed else ""),
            ),
            ("Last refresh", utc_time(account.last_refresh_at)),
            ("Token type", account.token_type or "—"),
            ("Refresh token", "stored" if account.has_refresh_token else "none"),
            ("Auto refresh", auto),
        ]
        error = self.board.errors.get(account.name)
        if error:
            rows.append(("Last error", error))
        text = Text()
        for label, value in rows:
            text.append(f"{label:<14}", style="dim")
            text.append(value if isinstance(value, Text) else plain(value))
            text.append("\n")
        self.query_one("#details", Static).update(text)

    def live_tick(self, now: float) -> None:
        """Count down."""
        self.redraw(now)

    def live_event(self, event: AccountEvent) -> None:
        """Redraw when this account changed (refreshed, signed in, changed elsewhere)."""
        if event.names and self.account not in event.names:
            return
        if event.change is Change.UPDATED and self._own_news:
            self._own_news -= 1  # this screen's own rename or drop, drawn already
            return
        self.changed()

    def changed(self) -> None:
        """Draw everything again: details, token, phone lines."""
        self.redraw(self.clock())
        self.load_token()
        self.load_lines()
        self.say("")

    def say(self, text: str, *, error: bool = False) -> None:
        """Show the result of the last action."""
        message = self.query_one("#message", Static)
        message.update(plain(text))
        message.set_class(error, "-error")

    # -- workers -----------------------------------------------------------

    @work(exclusive=True, group="token", exit_on_error=False)
    async def load_token(self) -> None:
        """Read the access token from the keyring (off the UI thread)."""
        try:
            self._token = await self.service.access_token(self.account)
        except RingPlusError as err:
            self._token = None
            self.say(f"{err.title}: {err.message}", error=True)
        self._show_token()

    def _show_token(self) -> None:
        shown = self._token if (self._revealed and self._token) else mask(self._token)
        self.query_one("#token", Static).update(Text(shown))
        self.query_one("#reveal", Button).label = "Hide" if self._revealed else "Reveal"

    @work(exclusive=True, group="lines", exit_on_error=False)
    async def load_lines(self) -> None:
        """Ask the API for the account's phone lines."""
        account = self.record
        table = self.query_one("#lines", DataTable)
        if account is None or not account.signed_in:
            table.clear()
            self.query_one("#lines-title", Label).update("Phone lines (sign in to see them)")
            return
        app = self.service.settings.apps.get(account.app)
        if app is None or not app.provider.api_base:
            table.display = False
            self.query_one("#lines-title", Label).update(
                "Phone lines come from RingPlus's API; this app's provider has none."
            )
            return
        try:
            profile = await self.service.fetch_profile(self.account)
        except RingPlusError as err:
            self.query_one("#lines-title", Label).update(plain(f"Phone lines: {err.message}"))
            return
        table.clear()
        for line in profile.lines:
            table.add_row(plain(line.name), plain(line.phone_number), plain(line.device))
        self.query_one("#lines-title", Label).update(plain(f"Phone lines of {profile.user}"))

    # -- actions -------------------------------------------------------------

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

    def action_refresh(self) -> None:
        """Refresh now."""
        self.post_message(RefreshRequested((self.account,)))

    def action_sign_in(self) -> None:
        """Sign in again through the browser."""
        self.post_message(SignIn(self.account))

    def action_password(self) -> None:
        """Sign in with email and password (the shortcut)."""
        self.post_message(PasswordSignIn(self.account))

    def action_reveal(self) -> None:
        """Show or hide the access token."""
        self._revealed = not self._revealed
        self._show_token()

    def action_copy(self) -> None:
        """Send the access token to the terminal clipboard, without showing it."""
        if not self._token:
            self.notify("No access token to copy.", severity="warning")
            return
        self.app.copy_to_clipboard(self._token)
        self.notify(
            "Sent the access token to the terminal clipboard (OSC 52). Some terminals "
            "ignore that; press v to reveal it and select it instead.",
            title="Copy",
        )

    @on(Button.Pressed, "#reveal")
    def reveal_pressed(self) -> None:
        self.action_reveal()

    @on(Button.Pressed, "#copy")
    def copy_pressed(self) -> None:
        self.action_copy()

    @work(exclusive=True, group="account-action", exit_on_error=False)
    async def action_toggle_auto(self) -> None:
        """Switch automatic refresh on or off for this account."""
        account = self.record
        if account is None:
            return
        try:
            await self.service.set_auto_refresh(
                self.account, not account.auto_refresh, account.refresh_margin
            )
        except RingPlusError as err:
            self.say(f"{err.title}: {err.message}", error=True)
            return
        self.redraw(self.clock())

    @work(exclusive=True, group="account-action", exit_on_error=False)
    async def action_rename(self) -> None:
        """Rename this account."""
        new = await self.app.push_screen_wait(TextModal("New name for the account", self.account))
        if not new or new == self.account:
            return
        self._own_change = True  # until self.account is the new name
        try:
            await self.service.rename_account(self.account, new)
        except RingPlusError as err:
            self.say(f"{err.title}: {err.message}", error=True)
            return
        finally:
            self._own_change = False
        self._own_news += 1
        self.app.post_message(AccountRenamed(self.account, new))
        self.account = new
        self.say(f"Renamed to {new}.")
        self.redraw(self.clock())

    @work(exclusive=True, group="account-action", exit_on_error=False)
    async def action_revoke(self) -> None:
        """Revoke the tokens at the provider, then forget them here (asks first)."""
        sure = await self.app.push_screen_wait(
            ConfirmModal(
                f"Revoke {self.account}'s tokens?",
                "The provider is asked to cancel the refresh token and access token "
                "(RFC 7009), then they are removed from this machine. Scripts using them "
                "stop working until you sign in again.",
                confirm="Revoke",
            )
        )
        if sure:
            await self._drop(revoke=True)

    @work(exclusive=True, group="account-action", exit_on_error=False)
    async def action_forget(self) -> None:
        """Forget the tokens on this machine only (asks first)."""
        sure = await self.app.push_screen_wait(
            ConfirmModal(
                f"Forget {self.account}'s tokens?",
                "The tokens are removed from this machine's keyring. They stay valid at "
                "the provider until they expire; use Revoke to cancel them there too.",
                confirm="Forget",
            )
        )
        if sure:
            await self._drop(revoke=False)

    @work(exclusive=True, group="account-action", exit_on_error=False)
    async def action_remove(self) -> None:
        """Remove the account and its tokens from this machine (asks first)."""
        sure = await self.app.push_screen_wait(
            ConfirmModal(
                f"Remove the account {self.account}?",
                "The account and its tokens are removed from this machine (not revoked at "
                "the provider). Its app stays.",
                confirm="Remove",
            )
        )
        if not sure:
            return
        self._own_change = True
        try:
            await self.service.remove_account(self.account)
        except RingPlusError as err:
            self._own_change = False
            self.say(f"{err.title}: {err.message}", error=True)
            return
        self.app.post_message(AccountRemoved(self.account))
        self.notify(f"Removed {self.account}.")
        self.dismiss(None)

    async def _drop(self, *, revoke: bool) -> None:
        try:
            if revoke:
                await self.service.revoke(self.account)
            else:
                await self.service.forget(self.account)
        except RingPlusError as err:
            self.say(f"{err.title}: {err.message}", error=True)
            return
        self._own_news += 1
        self.app.post_message(TokensDropped(self.account))
        self._token = None
        self._show_token()
        self.redraw(self.clock())
        self.say("Revoked at the provider and forgotten here." if revoke else "Forgotten here.")

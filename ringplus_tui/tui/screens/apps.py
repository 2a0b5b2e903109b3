"""The apps: client credentials shared by accounts. Add, edit, rename, remove."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Static

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.service.live import AccountEvent, Change

from ..cells import plain
from ..messages import AccountsEdited, AddAccount
from ..signals import LiveScreen
from ..widgets import KeysFooter
from .modals import ConfirmModal, TextModal


class AppsScreen(LiveScreen[None]):
    """Every app with its ``client_id``, provider and the accounts that use it.

    Args:
        service: The OAuth service.
    """

    CSS_PATH = "apps.tcss"
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("e", "edit", "Edit credentials"),
        Binding("n", "rename", "Rename"),
        Binding("d", "remove", "Remove"),
    ]

    def __init__(self, service: OAuthService) -> None:
        super().__init__()
        self.service = service
        self._rows: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(
            "Apps hold the client credentials; several accounts can share one. New apps "
            "are added with a new account (a on the dashboard).",
            id="intro",
        )
        table: DataTable[str] = DataTable(id="apps", cursor_type="row")
        yield table
        yield Static("", id="message")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = "Apps"
        table = self.query_one(DataTable)
        for column in ("App", "client_id", "Token endpoint", "Accounts"):
            table.add_column(column)
        self.reload()

    def on_screen_resume(self) -> None:
        self.reload()

    def on_screen_suspend(self) -> None:
        self.say("")  # a result line would be stale by the time this screen is back

    def live_event(self, event: AccountEvent) -> None:
        """Accounts added, removed or renamed change the Accounts column."""
        if event.change is Change.UPDATED:
            self.reload()

    def reload(self) -> None:
        """Rebuild the rows from the settings."""
        table = self.query_one(DataTable)
        table.clear()
        settings = self.service.settings
        self._rows = sorted(settings.apps)
        for name in self._rows:
            app = settings.apps[name]
            users = ", ".join(settings.accounts_of(name)) or "—"
            fields = (name, app.client_id, app.provider.token_endpoint, users)
            table.add_row(*(plain(field) for field in fields))

    @property
    def selected(self) -> str | None:
        """The app under the cursor."""
        row = self.query_one(DataTable).cursor_row
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def say(self, text: str, *, error: bool = False) -> None:
        """Show the result of the last action."""
        message = self.query_one("#message", Static)
        message.update(plain(text))
        message.set_class(error, "-error")

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss(None)

    def action_edit(self) -> None:
        """Edit the selected app's credentials."""
        if self.selected:
            self.post_message(AddAccount(app=self.selected, edit=True))

    @work(exclusive=True, exit_on_error=False)
    async def action_rename(self) -> None:
        """Rename the selected app; its accounts follow."""
        old = self.selected
        if old is None:
            return
        new = await self.app.push_screen_wait(TextModal("New name for the app", old))
        if not new or new == old:
            return
        try:
            await self.service.rename_app(old, new)
        except RingPlusError as err:
            self.say(f"{err.title}: {err.message}", error=True)
            return
        self.post_message(AccountsEdited())
        self.reload()
        self.say(f"Renamed {old} to {new}.")

    @work(exclusive=True, exit_on_error=False)
    async def action_remove(self) -> None:
        """Remove the selected app; asks first, naming the accounts that use it."""
        name = self.selected
        if name is None:
            return
        users = self.service.settings.accounts_of(name)
        detail = "Its client secret is removed from the keyring."
        if users:
            detail = (
                f"It is used by {', '.join(users)}: those accounts and their tokens are "
                "removed too (not revoked). " + detail
            )
        if not await self.app.push_screen_wait(
            ConfirmModal(f"Remove the app {name}?", detail, confirm="Remove")
        ):
            return
        try:
            await self.service.remove_app(name, with_accounts=True)
        except RingPlusError as err:
            self.say(f"{err.title}: {err.message}", error=True)
            return
        self.post_message(AccountsEdited())
        self.reload()
        self.say(f"Removed {name}" + (f" and {', '.join(users)}." if users else "."))

"""The Textual application: wires the screens to one :class:`OAuthService`.

Screens are thin: they show state, post :mod:`~ringplus_tui.messages` upward, and
run service calls in workers. The app runs the multi-screen flows (credentials,
then authorize) as one coroutine each, and closes the service once on exit.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from .errors import RingPlusError
from .messages import AddAccount, SignIn
from .prefill import EMPTY_PREFILL, CredentialsPrefill
from .screens.authorize import AuthorizeScreen
from .screens.credentials import CredentialsScreen
from .screens.dashboard import DashboardScreen
from .service import Clock, OAuthService


class RingPlusApp(App[None]):
    """The ringplus-tui dashboard.

    Args:
        service: The OAuth service; the app closes it on exit.
        clock: Returns the current time, UTC epoch seconds.
        prefill: What a new app's credentials form starts with.
        sign_in_hint: Extra guidance on the authorize screen (sandbox demo users).
    """

    TITLE = "ringplus-tui"
    BINDINGS = [Binding("q", "quit", "Quit")]

    def __init__(
        self,
        service: OAuthService,
        *,
        clock: Clock = time.time,
        prefill: CredentialsPrefill = EMPTY_PREFILL,
        sign_in_hint: str = "",
    ) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self.prefill = prefill
        self.sign_in_hint = sign_in_hint
        self.dashboard = DashboardScreen(service, clock=clock)

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        if not self.service.settings.accounts:
            self.post_message(AddAccount(app=None))

    async def on_unmount(self) -> None:
        await self.service.aclose()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if screen is self.dashboard:
            yield SystemCommand(
                "Refresh", "Refresh the selected account's token", self.dashboard.action_refresh
            )
            yield SystemCommand(
                "Sign in", "Sign the selected account in again", self.dashboard.action_sign_in
            )
            yield SystemCommand(
                "Add account", "Add an account and its app", self.dashboard.action_add_account
            )
            yield SystemCommand(
                "App credentials",
                "Edit the selected account's app credentials",
                self.dashboard.action_edit_app,
            )

    # -- flows -----------------------------------------------------------

    @on(SignIn)
    def sign_in(self, message: SignIn) -> None:
        self._sign_in(message.account)

    @on(AddAccount)
    def add_account(self, message: AddAccount) -> None:
        self._add_account(message.app, message.account)

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _sign_in(self, account: str) -> None:
        done = await self.push_screen_wait(
            AuthorizeScreen(self.service, account, hint=self.sign_in_hint)
        )
        if done:
            self.notify("Signed in; the token is in the secret store.", title=account)
        self.dashboard.reload()

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _add_account(self, app: str | None, account: str | None) -> None:
        settings = self.service.settings
        if app is not None and app in settings.apps:
            prefill = CredentialsPrefill.from_app(settings.apps[app], account=account or "")
        else:
            prefill = self.prefill
        result = await self.push_screen_wait(CredentialsScreen(self.service, prefill))
        self.dashboard.reload()
        if result is None:
            return
        done = await self.push_screen_wait(
            AuthorizeScreen(self.service, result.account, hint=self.sign_in_hint)
        )
        if done:
            self.notify("Signed in; the token is in the secret store.", title=result.account)
        self.dashboard.reload()

    # -- one error policy -----------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show a failed worker's error instead of closing the app."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, RingPlusError):
            self.notify(error.message, title=error.title, severity="error")
        else:
            name = type(error).__name__
            self.notify(
                f"Something went wrong ({name}). The app keeps running; please report this.",
                title="Unexpected error",
                severity="error",
            )

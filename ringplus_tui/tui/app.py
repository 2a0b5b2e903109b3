"""The Textual application: wires the screens to one :class:`OAuthService`.

Screens are thin: they show state, post :mod:`~ringplus_tui.tui.messages` upward, and
run service calls in workers. The live state and the automatic refreshes are a
:class:`~ringplus_tui.service.live.LiveAccounts`; the app turns its events and its
one timer (countdowns, automatic refresh, noticing settings changed by another
process) into :class:`~ringplus_tui.tui.signals.AppSignals` that every screen in
the stack hears. It runs the multi-screen flows as one coroutine each, and closes
the service once on exit.
"""

from __future__ import annotations

import time
from collections.abc import Coroutine, Iterable
from functools import partial
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.prefill import EMPTY_PREFILL, CredentialsPrefill
from ringplus_tui.core.safe_text import safe_text
from ringplus_tui.core.scheduler import RefreshBoard
from ringplus_tui.service.facade import Clock, OAuthService, refresh_token_warning
from ringplus_tui.service.live import RELOAD_EVERY, AccountEvent, Change, LiveAccounts

from .cells import batch_summary, clock_time
from .messages import (
    AccountRemoved,
    AccountRenamed,
    AccountsEdited,
    AddAccount,
    OpenAccount,
    OpenApps,
    PasswordSignIn,
    RefreshRequested,
    SignIn,
    TokensDropped,
)
from .screens.dashboard import DashboardScreen
from .signals import AppSignals, unexpected_message

KEYRING_PROBE_DELAY = 0.5
"""Seconds after start-up before the keyring is probed."""


class RingPlusApp(App[None]):
    """The ringplus-tui dashboard.

    Args:
        service: The OAuth service; the app closes it on exit.
        clock: Returns the current time, UTC epoch seconds.
        prefill: What a new app's credentials form starts with.
        sign_in_hint: Extra guidance on the sign-in screens (sandbox demo users).
        refresh_automatically: Refresh due accounts by themselves (off in snapshot tests).

    Attributes:
        live: The accounts' live state and automatic refreshes.
        signals: The tick and the account events, for every screen in the stack.
    """

    TITLE = "ringplus-tui"
    CSS_PATH = "screens/dashboard.tcss"  # the default screen's (see get_default_screen)
    # q quits from every screen; the footer names it on the dashboard only, where
    # there is room (the account screen needs its width for its own keys).
    BINDINGS = [Binding("q", "quit", "Quit", show=False)]

    def __init__(
        self,
        service: OAuthService,
        *,
        clock: Clock = time.time,
        prefill: CredentialsPrefill = EMPTY_PREFILL,
        sign_in_hint: str = "",
        refresh_automatically: bool = True,
    ) -> None:
        super().__init__()
        self.service = service
        self.clock = clock
        self.prefill = prefill
        self.sign_in_hint = sign_in_hint
        self.live = LiveAccounts(
            service,
            clock=lambda: self.clock(),  # the app's clock, also when a test swaps it
            automatic=refresh_automatically,
            spawn=self._spawn,
        )
        self.signals = AppSignals(self)
        self._unsubscribe = self.live.subscribe(self._live_event)
        self.dashboard = DashboardScreen(service, self.live.board, clock=clock)
        self._ticks = 0
        self._proxy_warned = False

    @property
    def refresh_automatically(self) -> bool:
        """Whether due accounts are refreshed by themselves."""
        return self.live.automatic

    @refresh_automatically.setter
    def refresh_automatically(self, value: bool) -> None:
        self.live.automatic = value

    @property
    def board(self) -> RefreshBoard:
        """The live refresh state the screens draw (busy accounts, errors, progress)."""
        return self.live.board

    def get_default_screen(self) -> Screen[None]:
        """The dashboard is the bottom of the screen stack (no blank screen under it
        to draw first). Textual loads a default screen's ``CSS_PATH`` only through
        the app's, hence :attr:`CSS_PATH` here."""
        return self.dashboard

    def on_mount(self) -> None:
        self.set_interval(1.0, self.tick, name="ringplus tick")
        # A moment after the dashboard is on screen: the check starts a process that
        # loads the keyring library (about 0.3 s of CPU), which would compete with
        # drawing the first frame.
        self.set_timer(KEYRING_PROBE_DELAY, self._check_secret_store, name="keyring probe")
        if not self.service.settings.accounts:
            self.post_message(AddAccount())

    @work(exclusive=True, group="probe", exit_on_error=False)
    async def _check_secret_store(self) -> None:
        """Say at once when the keyring does not work, not at the first sign-in."""
        try:
            await self.service.check_secret_store()
        except RingPlusError as err:
            self.notify(err.message, title=err.title, severity="error", timeout=30)

    def _clock_warning(self) -> None:
        """Show, once each, the service's warnings about the clock and the proxy settings."""
        warning = self.service.take_clock_warning()
        if warning:
            self.notify(warning, title="Clock", severity="warning", timeout=20)
        if self.service.proxy_warning and not self._proxy_warned:
            self._proxy_warned = True
            self.notify(self.service.proxy_warning, title="Proxy", severity="warning", timeout=20)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification whose text is never read as markup and cannot drive the
        terminal (:func:`~ringplus_tui.core.safe_text.safe_text`): a provider's ``[/]``
        or ``[@click=…]`` in an error is shown as those characters. ``markup`` is
        ignored; every screen's ``notify`` ends here."""
        super().notify(
            safe_text(message, limit=2000),
            title=safe_text(title, limit=200),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    async def on_unmount(self) -> None:
        self._unsubscribe()
        await self.live.aclose()
        await self.service.aclose()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        entries = getattr(screen, "COMMANDS_OF_THE_PALETTE", None)
        if entries:
            for title, help_text, action in entries:
                yield SystemCommand(title, help_text, partial(self.run_action, action, screen))
        else:
            yield from self._screen_commands(screen)

    def _screen_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """A screen's own keys (also those its footer has no room for), as palette
        commands: named as in the footer, explained by the key's tooltip."""
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.node is not screen or not active.enabled or not binding.description:
                continue  # a widget's or the app's key, or one unusable now
            key = self.get_key_display(binding)
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip} (key: {key})" if binding.tooltip else f"Key: {key}",
                partial(self.run_action, binding.action, screen),
            )

    # -- the one timer -------------------------------------------------------

    def tick(self) -> None:
        """Once a second: notice outside changes, start due refreshes, redraw countdowns
        on every screen in the stack.

        An unexpected error here is shown, never allowed to stop the timer or the app.
        """
        try:
            self._tick()
        except Exception as err:
            self._unexpected(err)

    def _tick(self) -> None:
        now = self.clock()
        self._ticks += 1
        if self._ticks % RELOAD_EVERY == 0:
            self._reload()
        self.live.tick(now)
        self.signals.tick.publish(now)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        """Run one of the live state's background refreshes as a worker (its errors
        reach :meth:`on_worker_state_changed`)."""
        self.run_worker(coroutine, group="auto-refresh", exit_on_error=False)

    def _live_event(self, event: AccountEvent) -> None:
        """Every account event: the clock warnings after a refresh, then to the screens."""
        if event.change in (Change.REFRESHED, Change.FAILED):
            self._clock_warning()
        self.signals.accounts.publish(event)

    @work(exclusive=True, group="reload", exit_on_error=False)
    async def _reload(self) -> None:
        try:
            await self.live.reload()
        except RingPlusError as err:
            self.notify(
                f"{err.message} The app keeps using the settings it had and will not "
                "overwrite the file until it is valid again.",
                title=err.title,
                severity="error",
            )

    # -- refreshing ------------------------------------------------------------

    @on(RefreshRequested)
    def refresh_requested(self, message: RefreshRequested) -> None:
        names = self.live.claim(message.accounts)
        if len(message.accounts) == 1:
            if names:
                self.run_worker(
                    self._refresh_one(names[0]),
                    group=f"refresh:{names[0]}",
                    exclusive=True,
                    exit_on_error=False,
                )
            return
        self._refresh_all(names)

    async def _refresh_one(self, name: str) -> None:
        try:
            account = await self.live.refresh(name)
        except RingPlusError as err:
            self.notify(err.message, title=f"{name}: {err.title}", severity="error")
            return
        self.notify(f"New expiry {clock_time(account.expires_at)}.", title=f"Refreshed {name}")

    @work(exclusive=True, group="refresh-all", exit_on_error=False)
    async def _refresh_all(self, names: list[str]) -> None:
        result = await self.live.refresh_all(names)
        self.notify(
            batch_summary(result),
            title="Refresh all",
            severity="warning" if result.failed else "information",
        )

    # -- what screens changed ----------------------------------------------------

    @on(AccountRenamed)
    def account_renamed(self, message: AccountRenamed) -> None:
        self.live.renamed(message.old, message.new)

    @on(AccountRemoved)
    def account_removed(self, message: AccountRemoved) -> None:
        self.live.removed(message.account)

    @on(TokensDropped)
    def tokens_dropped(self, message: TokensDropped) -> None:
        self.live.tokens_dropped(message.account)

    @on(AccountsEdited)
    def accounts_edited(self) -> None:
        self.live.changed()

    @on(OpenAccount)
    def open_account(self, message: OpenAccount) -> None:
        from .screens.account import AccountScreen

        self.push_screen(
            AccountScreen(self.service, self.live.board, message.account, clock=self.clock)
        )

    @on(OpenApps)
    def open_apps(self) -> None:
        from .screens.apps import AppsScreen

        self.push_screen(AppsScreen(self.service))

    # -- flows -----------------------------------------------------------

    @on(SignIn)
    def sign_in(self, message: SignIn) -> None:
        self._sign_in(message.account)

    @on(PasswordSignIn)
    def password_sign_in(self, message: PasswordSignIn) -> None:
        self._password_sign_in(message.account)

    @on(AddAccount)
    def add_account(self, message: AddAccount) -> None:
        if message.edit and message.app:
            self._edit_app(message.app)
        else:
            self._add_account(message.app)

    def _signed_in(self, account: str) -> None:
        self._clock_warning()
        self.live.signed_in(account)
        record = self.service.settings.accounts.get(account)
        who = f" as {record.user}" if record is not None and record.user else ""
        self.notify(f"Signed in{who}; the token is in the secret store.", title=account)
        if record is not None and record.app in self.service.settings.apps:
            warning = refresh_token_warning(self.service.settings.app(record.app), record)
            if warning:
                self.notify(warning, title="No refresh token", severity="warning", timeout=30)

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _sign_in(self, account: str) -> None:
        await self._authorize(account)

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _password_sign_in(self, account: str) -> None:
        from .screens.modals import Credentials, PasswordModal

        async def sign_in(credentials: Credentials) -> None:
            await self.service.sign_in_with_password(
                account, credentials.username, credentials.password
            )

        done = await self.push_screen_wait(
            PasswordModal(account, hint=self.sign_in_hint, sign_in=sign_in)
        )
        if done is None:
            return  # cancelled; a failure was shown in the dialog
        del done
        self._signed_in(account)

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _add_account(self, app: str | None) -> None:
        from .screens.credentials import CredentialsScreen
        from .screens.modals import NEW_APP, AddAccountModal

        apps = sorted(self.service.settings.apps)
        if apps:
            existing = frozenset(self.service.settings.accounts)
            choice = await self.push_screen_wait(AddAccountModal(apps, app, existing=existing))
            if choice is None:
                return
            if choice.app != NEW_APP:
                try:
                    await self.service.add_account(choice.name, choice.app)
                except RingPlusError as err:
                    self.notify(err.message, title=err.title, severity="error")
                    return
                self.live.changed()
                await self._authorize(choice.name)
                return
            prefill = CredentialsPrefill(
                form=self.prefill.form,
                client_secret=self.prefill.client_secret,
                account=choice.name,
            )
        else:
            prefill = self.prefill
        result = await self.push_screen_wait(CredentialsScreen(self.service, prefill))
        self.live.changed()
        if result is not None:
            await self._authorize(result.account)

    async def _authorize(self, account: str) -> None:
        """The authorize screen for ``account``; on success, say so and clear old errors."""
        from .screens.authorize import AuthorizeScreen

        if await self.push_screen_wait(
            AuthorizeScreen(self.service, account, hint=self.sign_in_hint)
        ):
            self._signed_in(account)

    @work(exclusive=True, group="flow", exit_on_error=False)
    async def _edit_app(self, app: str) -> None:
        from .screens.credentials import CredentialsScreen

        settings = self.service.settings
        if app not in settings.apps:
            return
        users = settings.accounts_of(app)
        prefill = CredentialsPrefill.from_app(settings.apps[app], account=users[0] if users else "")
        result = await self.push_screen_wait(CredentialsScreen(self.service, prefill))
        self.live.changed()
        if result is None:
            return
        account = self.service.settings.accounts.get(result.account)
        if account is not None and account.signed_in:
            self.notify("Saved; signed-in accounts keep their tokens.", title=result.app)
            return
        await self._authorize(result.account)

    # -- one error policy -----------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Show a failed worker's error instead of closing the app."""
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, RingPlusError):
            self.notify(error.message, title=error.title, severity="error")
        elif isinstance(error, BaseException):
            self._unexpected(error)

    def _unexpected(self, error: BaseException) -> None:
        self.notify(
            unexpected_message(error),
            title="Unexpected error",
            severity="error",
        )

"""The authorize screen: the authorization URL, then the pasted redirected URL.

Follows the seed tutorial's steps: send the person to the authorization URL,
take the URL the provider redirected to, exchange its code for a token. Returns
``True`` when the account is signed in, ``False`` when cancelled.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Header, LoadingIndicator, Static

from ringplus_tui.core.errors import (
    AuthorizationResponseError,
    LoopbackUnavailableError,
    NetworkError,
    RingPlusError,
)
from ringplus_tui.core.models import PendingAuthorization
from ringplus_tui.core.status import format_countdown
from ringplus_tui.service.facade import OAuthService

from ..cells import plain
from ..signals import LiveScreen
from ..widgets import KeysFooter, PasteInput


def _has_graphical_browser() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


class AuthorizeScreen(LiveScreen[bool]):
    """Sign one account in through the authorization URL and the pasted redirect.

    Args:
        service: The OAuth service.
        account: The account to sign in.
        hint: Extra guidance shown above the URL (the sandbox's demo sign-in).
    """

    CSS_PATH = "authorize.tcss"
    BINDINGS = [
        Binding("ctrl+y", "copy_url", "Copy URL"),
        Binding("ctrl+o", "open_url", "Open in browser"),
        Binding("ctrl+r", "restart", "Start over"),
        Binding("escape", "cancel", "Cancel"),
        # A stray q (with a button focused) must not end a sign-in in progress.
        Binding("q", "no_quit", show=False),
    ]

    def __init__(self, service: OAuthService, account: str, *, hint: str = "") -> None:
        super().__init__()
        self.service = service
        self.account = account
        self.hint = hint
        self.url = ""
        self.pending: PendingAuthorization | None = None

    def _example_redirect(self) -> str:
        """What the pasted address looks like: the app's redirect URI with a code."""
        settings = self.service.settings
        account = settings.accounts.get(self.account)
        app = settings.apps.get(account.app) if account else None
        base = app.redirect_uri if app else "https://…"
        return f"{base}{'&' if '?' in base else '?'}code=…&state=…"

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="body"):
            yield Static(
                Text.assemble(
                    ("1.", "bold"),
                    " Open this address in a browser, sign in and allow access for ",
                    plain(self.account, style="bold"),
                    ":",
                ),
                id="step1",
            )
            if self.hint:
                yield Static(plain(self.hint), id="hint")
            yield Static("", id="url")
            yield Static("", id="open-for")
            with Horizontal(classes="buttons"):
                yield Button("Copy URL", id="copy", compact=True)
                yield Button("Open in browser", id="open", compact=True)
            yield Static("", id="listening")
            yield Static(
                "[b]2.[/b] The browser then goes to the redirect URI; the page may not "
                "load, the address bar is what matters. Paste that whole address here "
                "(Ctrl+Shift+V or Shift+Insert):",
                id="step2",
                markup=True,
            )
            yield PasteInput(placeholder=self._example_redirect(), id="redirected")
            yield LoadingIndicator(id="busy")
            yield Static("", id="message")
            with Horizontal(classes="buttons"):
                yield Button("Sign in", id="submit", variant="primary", compact=True)
                yield Button("Start over", id="restart", compact=True)
                yield Button("Cancel", id="cancel", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.sub_title = f"Sign in {self.account}"
        self.query_one("#busy").display = False
        self.query_one("#listening").display = False
        self.query_one("#redirected").focus()
        self.call_after_refresh(self.query_one("#redirected").scroll_visible)
        self.start()

    @work(exclusive=True, group="authorize", exit_on_error=False)
    async def start(self) -> None:
        """Start a new authorization and show its URL."""
        self._say("")
        try:
            pending = await self.service.start_authorization(self.account)
        except RingPlusError as err:
            self._say(f"{err.title}: {err.message}", error=True)
            return
        self.url = pending.authorization_url
        self.pending = pending
        self.query_one("#url", Static).update(Text(self.url, overflow="fold"))
        self._show_time_left(self.service.clock())
        await self._stop_listening()
        if self.service.capturable(pending):
            self.listen(pending)

    def _show_time_left(self, now: float) -> None:
        if self.pending is None:
            return
        left = self.pending.expires_at - now
        if left > 0 and self.service.pending(self.account) is not self.pending:
            # dropped: denied, refused, replaced elsewhere
            self.query_one("#open-for", Static).update(
                "This sign-in has ended: press Start over (Ctrl+R) for a new URL."
            )
            return
        text = (
            f"This sign-in stays open for {format_countdown(left)}."
            if left > 0
            else "This sign-in has expired: press Start over (Ctrl+R) for a new URL."
        )
        self.query_one("#open-for", Static).update(text)

    def live_tick(self, now: float) -> None:
        """Count the time left down, with the app's one clock."""
        self._show_time_left(now)

    async def _stop_listening(self) -> None:
        """Stop an earlier listener and wait until its port is free again."""
        for worker in [w for w in self.workers if w.node is self and w.group == "listen"]:
            worker.cancel()
            with contextlib.suppress(Exception):
                await worker.wait()

    def on_unmount(self) -> None:
        self.workers.cancel_node(self)

    def _listening(self, text: str, *, warning: bool = False) -> None:
        label = self.query_one("#listening", Static)
        label.update(plain(text))
        label.display = bool(text)
        label.set_class(warning, "-warning")

    @work(exclusive=True, group="listen", exit_on_error=False)
    async def listen(self, pending: PendingAuthorization) -> None:
        """Wait for the browser on the loopback redirect URI (RFC 8252 §7.3); pasting
        keeps working meanwhile."""
        try:
            async with self.service.listen_for_redirect(pending) as listener:
                self._listening(
                    f"Listening on {listener.address}: the sign-in finishes by itself when "
                    "the browser gets there. Pasting below works too."
                )
                await listener.wait()
        except LoopbackUnavailableError as err:
            self._listening(f"{err.message}", warning=True)
            return
        except RingPlusError as err:
            self._listening("")
            self._say(f"{err.title}: {err.message} Press Start over (Ctrl+R).", error=True)
            return
        self.dismiss(True)

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(plain(text))
        message.set_class(error, "-error")
        if error:
            message.scroll_visible()

    def action_copy_url(self) -> None:
        """Send the URL to the terminal's clipboard."""
        if not self.url:
            return
        self.app.copy_to_clipboard(self.url)
        self.notify(
            "Sent the URL to the terminal clipboard (OSC 52). Some terminals ignore that: "
            "if nothing pastes, select the URL above with the mouse instead.",
            title="Copy",
        )

    def action_open_url(self) -> None:
        """Open the URL in a graphical browser, when there is one."""
        if not self.url:
            return
        if not _has_graphical_browser():
            self.notify(
                "No graphical browser on this machine: copy the URL and open it in a "
                "browser elsewhere.",
                title="Open in browser",
                severity="warning",
            )
            return
        self.app.open_url(self.url)

    def action_restart(self) -> None:
        """Make a fresh authorization URL; it replaces the old one, which is refused
        from then on. The focus goes back to the URL field, for the next paste."""
        field = self.query_one("#redirected", PasteInput)
        field.value = ""
        field.focus()
        self.start()

    def action_no_quit(self) -> None:
        """``q`` does not quit in the middle of a sign-in: say how to leave instead."""
        self.notify("Escape cancels this sign-in; Ctrl+Q quits the app.", title="Signing in")

    async def action_cancel(self) -> None:
        """Leave without signing in; the pending sign-in is dropped."""
        await self.service.cancel_authorization(self.account)
        self.dismiss(False)

    @on(Button.Pressed)
    async def button(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], Awaitable[None] | None]] = {
            "copy": self.action_copy_url,
            "open": self.action_open_url,
            "restart": self.action_restart,
            "cancel": self.action_cancel,
            "submit": self.submit,
        }
        if event.button.id in actions:
            done = actions[event.button.id]()
            if done is not None:
                await done

    def on_paste(self, event: events.Paste) -> None:
        """A paste while a button has the focus still lands in the URL field: receiving
        the redirected URL is this screen's one job."""
        self.query_one("#redirected", PasteInput).take_paste(event.text)
        event.stop()

    @on(PasteInput.Submitted, "#redirected")
    def submit(self) -> None:
        """Exchange the pasted URL's code for a token, in a worker."""
        self.exchange(self.query_one("#redirected", PasteInput).value)

    @work(exclusive=True, group="exchange", exit_on_error=False)
    async def exchange(self, pasted: str) -> None:
        """Complete the sign-in with the pasted URL."""
        busy = self.query_one("#busy")
        submit = self.query_one("#submit", Button)
        busy.display = True
        submit.disabled = True
        self._say("Exchanging the authorization code for a token…")
        try:
            await self.service.complete_authorization(pasted, self.account)
        except RingPlusError as err:
            hint = ""
            if isinstance(err, NetworkError):
                hint = " Press Sign in to try the same URL again."
            elif not isinstance(err, AuthorizationResponseError):
                hint = " Press Start over (Ctrl+R) for a new URL."
            self._say(f"{err.title}: {err.message}{hint}", error=True)
            self._show_time_left(self.service.clock())  # a Deny, for one, ended it
            return
        finally:
            busy.display = False
            submit.disabled = False
        self.dismiss(True)

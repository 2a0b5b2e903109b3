"""What every screen in the stack hears: the app's one tick, and the account events.

The app owns one :class:`AppSignals` and publishes to it; a :class:`LiveScreen`
subscribes when it is mounted, so a screen under a dialog keeps counting down and
keeps its rows current. Textual drops a screen's subscriptions when it closes.
"""

from __future__ import annotations

from textual import events, on
from textual.dom import DOMNode
from textual.screen import Screen, ScreenResultType
from textual.signal import Signal

from ringplus_tui.service.live import AccountEvent


def unexpected_message(error: BaseException) -> str:
    """What a person is told about a bug: the app keeps running, please report it."""
    return (
        f"Something went wrong ({type(error).__name__}). The app keeps running; please report this."
    )


class AppSignals:
    """The app's two signals.

    Attributes:
        tick: Published once a second with the current time, UTC epoch seconds
            (read once per tick, by the app).
        accounts: Published with every :class:`AccountEvent` of the live state.
    """

    def __init__(self, owner: DOMNode) -> None:
        self.tick: Signal[float] = Signal(owner, "tick")
        self.accounts: Signal[AccountEvent] = Signal(owner, "accounts")


class LiveScreen(Screen[ScreenResultType]):
    """A screen that hears the app's tick and account events wherever it is in the stack.

    Subclasses override :meth:`live_tick` and :meth:`live_event`. An error in either
    is shown, never allowed to close the app.
    """

    @on(events.Mount)
    def _subscribe_to_the_app(self) -> None:
        signals = getattr(self.app, "signals", None)
        if isinstance(signals, AppSignals):
            signals.tick.subscribe(self, self._tick)
            signals.accounts.subscribe(self, self._event)

    def _tick(self, now: float) -> None:
        if not self.is_attached:
            return
        try:
            self.live_tick(now)
        except Exception as err:
            self.notify(unexpected_message(err), title="Unexpected error", severity="error")

    def _event(self, event: AccountEvent) -> None:
        if not self.is_attached:
            return
        try:
            self.live_event(event)
        except Exception as err:
            self.notify(unexpected_message(err), title="Unexpected error", severity="error")

    def live_tick(self, now: float) -> None:
        """The app's tick: redraw what depends on the time ``now`` (UTC epoch seconds)."""

    def live_event(self, event: AccountEvent) -> None:
        """An account event: redraw what it changed."""

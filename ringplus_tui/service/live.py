"""The live state of every account, and the automatic refresh loop. No Textual.

:class:`LiveAccounts` owns what changes while a program runs and is not in the
settings: which accounts are being refreshed, the last error of each, the retry
times (the rules are :mod:`ringplus_tui.core.scheduler`'s), and the progress of a
"refresh all". It starts due refreshes when told the time (:meth:`LiveAccounts.tick`)
and publishes an :class:`AccountEvent` for every change, to plain callbacks
(:meth:`LiveAccounts.subscribe`) or an async iterator (:meth:`LiveAccounts.events`).

The dashboard turns these events into what it repaints; a headless program (a
token agent) runs the same object with :meth:`LiveAccounts.run` and no UI. Time
comes from the injected clock only (UTC epoch seconds), so tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ringplus_tui.core.errors import NeedsSignInError, RingPlusError
from ringplus_tui.core.models import Account
from ringplus_tui.core.scheduler import RefreshBoard

from .facade import Clock, OAuthService

log = logging.getLogger(__name__)

RELOAD_EVERY = 2
"""Ticks between checks for settings changed by another process (in :meth:`LiveAccounts.run`)."""

Spawn = Callable[[Coroutine[Any, Any, None]], object]
"""Runs a coroutine in the background (``asyncio.create_task`` by default; an app
may pass its own worker runner)."""


class Change(StrEnum):
    """What an :class:`AccountEvent` reports."""

    STARTED = "started"
    """A refresh of ``names`` began: they are busy now."""
    REFRESHED = "refreshed"
    """A refresh succeeded; ``account`` is the new record."""
    FAILED = "failed"
    """A refresh failed; ``error`` says why (and the retry is scheduled)."""
    UPDATED = "updated"
    """Records changed otherwise: sign-in, settings written by this program or
    another one, an account renamed, removed or its tokens dropped. The set of
    accounts may have changed, so a list of them should check its rows."""
    BATCH_STARTED = "batch-started"
    """A "refresh all" of ``names`` began (each also gets REFRESHED or FAILED)."""
    BATCH_DONE = "batch-done"
    """A "refresh all" ended; ``result`` counts the outcomes."""


@dataclass(frozen=True)
class BatchResult:
    """The outcome of a "refresh all".

    Attributes:
        total: Accounts asked for.
        done: Accounts finished (succeeded or failed).
        failed: Accounts whose refresh failed.
    """

    total: int
    done: int = 0
    failed: int = 0

    @property
    def succeeded(self) -> int:
        """Accounts refreshed."""
        return self.done - self.failed


@dataclass(frozen=True)
class AccountEvent:
    """One change of the live state, published after the state has changed.

    Attributes:
        change: What happened.
        names: The accounts it concerns (empty for UPDATED: possibly any account).
        account: The new record, for REFRESHED.
        error: The error, for FAILED.
        auto: The refresh was started by the schedule, not asked for.
        batch: The refresh is part of a "refresh all".
        result: The counts so far (REFRESHED/FAILED within a batch) or at the end
            (BATCH_DONE).
    """

    change: Change
    names: tuple[str, ...] = ()
    account: Account | None = None
    error: RingPlusError | None = None
    auto: bool = False
    batch: bool = False
    result: BatchResult | None = None


Subscriber = Callable[[AccountEvent], None]


class LiveAccounts:
    """Every account's live state, the automatic refreshes, and their events.

    Uses only :class:`OAuthService`'s public methods. One object per program; call
    :meth:`aclose` before closing the service.

    Args:
        service: The OAuth service.
        clock: Returns the current time, UTC epoch seconds.
        automatic: Refresh due accounts by themselves in :meth:`tick`.
        spawn: Runs a background refresh (default: an asyncio task this object keeps).
    """

    def __init__(
        self,
        service: OAuthService,
        *,
        clock: Clock,
        automatic: bool = True,
        spawn: Spawn | None = None,
    ) -> None:
        self.service = service
        self.clock = clock
        self.automatic = automatic
        self.board = RefreshBoard()
        self._spawn = spawn or self._create_task
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribers: list[Subscriber] = []
        self._batches = 0

    # -- publishing ------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` for every event from now on, synchronously, in
        the order they happen. An exception in a callback is logged and ignored.

        Returns:
            A function that ends the subscription.
        """
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    async def events(self) -> AsyncIterator[AccountEvent]:
        """Every event from now on, as an async iterator (ends when the loop using it
        is cancelled). Events queue up while the consumer is busy; none is lost."""
        queue: asyncio.Queue[AccountEvent] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    def _publish(self, event: AccountEvent) -> None:
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("an account event subscriber failed on %s", event.change)

    # -- state ---------------------------------------------------------------

    @property
    def busy(self) -> frozenset[str]:
        """Accounts being refreshed now."""
        return frozenset(self.board.busy)

    @property
    def batch_running(self) -> bool:
        """Whether a "refresh all" is running."""
        return self._batches > 0

    def error(self, name: str) -> str | None:
        """The last error message of ``name``, if its last refresh failed."""
        return self.board.errors.get(name)

    def claim(self, names: Iterable[str]) -> list[str]:
        """Mark the accounts of ``names`` that are not busy as busy, now.

        A UI calls this when a refresh is asked for, so that a second request
        before the refresh starts does not start a second one.

        Returns:
            The names claimed (those that were not busy), in order.
        """
        claimed = [n for n in dict.fromkeys(names) if n not in self.board.busy]
        if claimed:
            self.board.busy.update(claimed)
            self._publish(AccountEvent(Change.STARTED, tuple(claimed)))
        return claimed

    # -- the schedule ----------------------------------------------------------

    def tick(self, now: float | None = None) -> list[str]:
        """Start the automatic refreshes due at ``now`` (UTC epoch seconds; the clock's
        time when omitted), each in the background. Does nothing when automatic
        refresh is off.

        Returns:
            The names of the accounts whose refresh started.
        """
        if not self.automatic:
            return []
        now = self.clock() if now is None else now
        scheduler = self.board.scheduler
        due = scheduler.due(self.service.settings.accounts.values(), now, self.board.busy)
        for name in due:
            scheduler.started(name, now)
        for name in self.claim(due):
            self._spawn(self._refresh_quietly(name))
        return due

    async def run(
        self,
        *,
        interval: float = 1.0,
        reload_every: int = RELOAD_EVERY,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """Run the loop headless until cancelled: every ``interval`` seconds start due
        refreshes, and every ``reload_every`` ticks notice settings another process
        wrote. An invalid settings file is logged and the old settings kept."""
        ticks = 0
        while True:
            ticks += 1
            if ticks % reload_every == 0:
                try:
                    await self.reload()
                except RingPlusError as err:
                    log.warning("settings not reloaded: %s", err.message)
            self.tick()
            await sleep(interval)

    def _create_task(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh_quietly(self, name: str) -> None:
        with contextlib.suppress(RingPlusError):  # published as FAILED, retried later
            await self.refresh(name, auto=True)

    # -- refreshing ------------------------------------------------------------

    async def refresh(self, name: str, *, auto: bool = False) -> Account:
        """Refresh one account now (``auto``: only if still due, as the schedule does).

        Publishes STARTED (unless claimed already), then REFRESHED or FAILED.

        Returns:
            The new record.

        Raises:
            RingPlusError: The refresh failed (the retry is scheduled first).
        """
        if name not in self.board.busy:
            self.claim((name,))
        try:
            account = await self.service.refresh(name, force=not auto)
        except RingPlusError as err:
            self.board.busy.discard(name)
            self._failed(name, err)
            self._publish(AccountEvent(Change.FAILED, (name,), error=err, auto=auto))
            raise
        except BaseException:
            self.board.busy.discard(name)
            self._publish(AccountEvent(Change.UPDATED, (name,)))
            raise
        self.board.busy.discard(name)
        self._succeeded(name)
        self._publish(AccountEvent(Change.REFRESHED, (name,), account=account, auto=auto))
        return account

    async def refresh_all(self, names: Sequence[str]) -> BatchResult:
        """Refresh several accounts at once (the service's limit, 8 at a time).

        Publishes BATCH_STARTED, REFRESHED or FAILED per account as each finishes,
        and BATCH_DONE at the end, also when cancelled. Every name is refreshed:
        a caller that may ask twice claims them first (:meth:`claim`) and passes
        only the names it got back.

        Returns:
            The counts.
        """
        names = list(dict.fromkeys(names))
        result = BatchResult(total=len(names))
        self._batches += 1
        self.board.busy.update(names)
        self.board.progress = f"Refreshing all: 0/{result.total}…"
        self._publish(AccountEvent(Change.BATCH_STARTED, tuple(names), batch=True))

        def progress(name: str, outcome: Account | RingPlusError) -> None:
            nonlocal result
            self.board.busy.discard(name)
            if isinstance(outcome, RingPlusError):
                result = BatchResult(result.total, result.done + 1, result.failed + 1)
                self._failed(name, outcome)
                event = AccountEvent(
                    Change.FAILED, (name,), error=outcome, batch=True, result=result
                )
            else:
                result = BatchResult(result.total, result.done + 1, result.failed)
                self._succeeded(name)
                event = AccountEvent(
                    Change.REFRESHED, (name,), account=outcome, batch=True, result=result
                )
            note = f", {result.failed} failed" if result.failed else ""
            self.board.progress = f"Refreshing all: {result.done}/{result.total}{note}…"
            self._publish(event)

        try:
            await self.service.refresh_all(names, on_done=progress)
        finally:
            self.board.busy.difference_update(names)
            self.board.progress = ""
            self._batches -= 1
            self._publish(AccountEvent(Change.BATCH_DONE, tuple(names), batch=True, result=result))
        return result

    def _failed(self, name: str, err: RingPlusError) -> None:
        if isinstance(err, NeedsSignInError):
            # Nothing to retry: the row's status (signed-out, needs-sign-in) says what
            # is needed, and the event carries the message.
            self._succeeded(name)
            return
        self.board.errors[name] = err.message
        self.board.scheduler.failed(name, err, self.clock())

    def _succeeded(self, name: str) -> None:
        self.board.errors.pop(name, None)
        self.board.scheduler.succeeded(name)

    # -- other changes ---------------------------------------------------------

    async def reload(self) -> bool:
        """Notice settings another process wrote; an account it signed in or refreshed
        loses its old errors and back-off. Publishes UPDATED when they changed.

        Returns:
            Whether the settings changed.

        Raises:
            RingPlusError: The settings file is invalid now (the old settings stay).
        """
        before = self.service.settings.accounts
        changed = await self.service.reload()
        if changed:
            after = self.service.settings.accounts
            names = [n for n in before if n not in after]
            for name, account in after.items():
                old = before.get(name)
                if old != account:
                    names.append(name)
                if old is None or old.obtained_at != account.obtained_at:
                    self._succeeded(name)  # another process signed it in or refreshed it
            self._publish(AccountEvent(Change.UPDATED, tuple(names)))
        return changed

    def signed_in(self, name: str) -> None:
        """``name`` was signed in: its old errors and back-off are moot."""
        self._succeeded(name)
        self._publish(AccountEvent(Change.UPDATED, (name,)))

    def tokens_dropped(self, name: str) -> None:
        """``name``'s tokens were forgotten or revoked: its last error is moot."""
        self.board.errors.pop(name, None)
        self._publish(AccountEvent(Change.UPDATED, (name,)))

    def renamed(self, old: str, new: str) -> None:
        """The account ``old`` is called ``new`` now."""
        self.board.scheduler.forget(old)
        self.board.errors.pop(old, None)
        self._publish(AccountEvent(Change.UPDATED, (old, new)))

    def removed(self, name: str) -> None:
        """The account ``name`` is gone."""
        self.board.scheduler.forget(name)
        self.board.errors.pop(name, None)
        self._publish(AccountEvent(Change.UPDATED, (name,)))

    def changed(self, names: Iterable[str] = ()) -> None:
        """Records were changed through the service (accounts or apps added or edited)."""
        self._publish(AccountEvent(Change.UPDATED, tuple(names)))

    async def aclose(self) -> None:
        """Cancel the background refreshes this object started and wait for them."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._subscribers.clear()

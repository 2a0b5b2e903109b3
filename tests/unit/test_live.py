"""The live account state on its own, as a headless program runs it: no Textual, a
clock the test moves, the sandbox provider as the other side."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.service.live import AccountEvent, Change, LiveAccounts
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.flows import ALICE, prepare


class Stopped(Exception):
    """Ends a loop from its injected sleep."""


class Clock:
    """A clock the test moves, UTC epoch seconds."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def signed_in(tmp_path: Path, sandbox: Sandbox, clock: Clock, *names: str) -> OAuthService:
    service = OAuthService(SettingsStore(tmp_path), MemorySecretStore(), clock=clock)
    await prepare(service, sandbox, names[0])
    for name in names[1:]:
        await service.add_account(name, "sandbox")
    for name in names:
        await service.sign_in_with_password(name, *ALICE)
    return service


async def next_event(events: list[AccountEvent], change: Change, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not any(e.change is change for e in events):
        assert time.monotonic() < deadline, f"no {change} event in {events}"
        await asyncio.sleep(0.01)


async def test_the_live_object_alone_refreshes_a_due_account_and_publishes_events(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    service = await signed_in(tmp_path, sandbox, clock, "alice")
    live = LiveAccounts(service, clock=clock)
    events: list[AccountEvent] = []
    live.subscribe(events.append)
    try:
        assert live.tick() == []  # a fresh token is not due
        expiry = service.settings.accounts["alice"].expires_at
        assert expiry is not None
        clock.now = expiry - 30  # inside the refresh margin
        assert live.tick() == ["alice"]
        assert live.busy == {"alice"}
        assert live.tick() == []  # being refreshed: not started twice
        await next_event(events, Change.REFRESHED)
        assert [e.change for e in events] == [Change.STARTED, Change.REFRESHED]
        assert events[1].names == ("alice",) and events[1].auto
        refreshed = events[1].account
        assert refreshed is not None and refreshed.expires_at is not None
        assert refreshed.expires_at > expiry
        assert service.settings.accounts["alice"] == refreshed
        assert live.busy == frozenset() and live.error("alice") is None
        assert sandbox.token_requests.count("refresh_token") == 1
        assert live.tick() == []  # fresh again
    finally:
        await live.aclose()
        await service.aclose()


async def test_a_failed_refresh_is_published_and_not_retried_before_its_back_off(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    service = await signed_in(tmp_path, sandbox, clock, "alice")
    live = LiveAccounts(service, clock=clock)
    seen: list[AccountEvent] = []
    consumer = asyncio.create_task(_collect(live, seen))
    await asyncio.sleep(0)  # the iterator subscribes
    try:
        sandbox.stop()  # the provider is unreachable: a temporary failure
        expiry = service.settings.accounts["alice"].expires_at
        assert expiry is not None
        clock.now = expiry - 30
        assert live.tick() == ["alice"]
        await next_event(seen, Change.FAILED)
        failed = next(e for e in seen if e.change is Change.FAILED)
        assert failed.error is not None and live.error("alice") == failed.error.message
        clock.now += 10
        assert live.tick() == []  # the first retry waits 30 s
        clock.now += 25
        assert live.tick() == ["alice"]
    finally:
        consumer.cancel()
        await live.aclose()
        await service.aclose()


async def _collect(live: LiveAccounts, into: list[AccountEvent]) -> None:
    async for event in live.events():
        into.append(event)


async def test_refresh_all_publishes_each_account_and_one_end_with_the_counts(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    service = await signed_in(tmp_path, sandbox, clock, "a", "b", "c")
    live = LiveAccounts(service, clock=clock, automatic=False)
    events: list[AccountEvent] = []
    live.subscribe(events.append)
    try:
        claimed = live.claim(["a", "b", "c", "a"])
        assert claimed == ["a", "b", "c"] and live.claim(["b"]) == []  # busy: not twice
        result = await live.refresh_all(claimed)
        assert (result.total, result.succeeded, result.failed) == (3, 3, 0)
        changes = [e.change for e in events]
        assert changes[:2] == [Change.STARTED, Change.BATCH_STARTED]
        assert changes.count(Change.REFRESHED) == 3 and changes[-1] is Change.BATCH_DONE
        assert all(e.batch for e in events[1:])
        assert events[-1].result == result and not live.busy and not live.batch_running
        assert live.tick() == []  # automatic refresh is off
    finally:
        await live.aclose()
        await service.aclose()


async def test_run_loops_on_the_injected_sleep_and_notices_other_writers(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    clock = Clock()
    service = await signed_in(tmp_path, sandbox, clock, "alice")
    live = LiveAccounts(service, clock=clock)
    events: list[AccountEvent] = []
    live.subscribe(events.append)
    slept: list[float] = []
    other = SettingsStore(tmp_path)  # another process's view of the same files
    other.update(lambda s: s.with_account(Account(name="bob", app="sandbox")))

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds
        if len(slept) == 3:
            raise Stopped

    try:
        with pytest.raises(Stopped):
            await live.run(sleep=sleep)
        assert slept == [1.0, 1.0, 1.0]
        assert "bob" in service.settings.accounts
        updated = [e for e in events if e.change is Change.UPDATED]
        assert updated and "bob" in updated[0].names
    finally:
        await live.aclose()
        await service.aclose()


async def test_refreshing_an_account_that_needs_a_sign_in_schedules_no_retry(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    """Pressing r on a signed-out account says what is needed once; its row shows no
    'retry 00:23' for something a retry cannot fix."""
    from ringplus_tui.core.errors import NeedsSignInError

    clock = Clock()
    service = OAuthService(SettingsStore(tmp_path), MemorySecretStore(), clock=clock)
    await prepare(service, sandbox, "alice")  # added, never signed in
    live = LiveAccounts(service, clock=clock)
    events: list[AccountEvent] = []
    live.subscribe(events.append)
    try:
        with pytest.raises(NeedsSignInError):
            await live.refresh("alice")
        assert any(e.change is Change.FAILED for e in events)  # the message is published
        assert live.board.note("alice", clock()) == ""
        assert live.board.scheduler.retry("alice") is None
    finally:
        await service.aclose()

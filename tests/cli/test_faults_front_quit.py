"""Quitting while a refresh is in flight never loses the grant (issue 16, item 1).

The sandbox rotates refresh tokens and answers the refresh late; the command or the
dashboard is told to stop while the request is on its way. The refresh it sent must
still store the rotated refresh token, so the next refresh succeeds (no
``invalid_grant``).
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import refresh_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.cli import Cli, lock_held
from tests.helpers.flows import sign_in

LATENCY = 3.0
"""Seconds the sandbox waits before answering (and rotating) a refresh."""
SENT = 0.8
"""Seconds after the account's lock is taken by which the refresh request was sent."""


async def _signed_in(config_dir: Path, secret_store, sandbox: Sandbox) -> str:
    """Sign alice in; return her stored refresh token."""
    service = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        await sign_in(service, sandbox)
    finally:
        await service.aclose()
    token = secret_store.get(refresh_token_key("alice"))
    assert token
    return token


@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
async def test_a_signal_during_a_refresh_keeps_the_rotated_refresh_token(
    cli: Cli,
    rotating_sandbox: Sandbox,
    config_dir: Path,
    secret_store,
    signum: signal.Signals,
    status: int,
) -> None:
    before = await _signed_in(config_dir, secret_store, rotating_sandbox)
    lock = OAuthService(SettingsStore(config_dir), secret_store).records.lock_path("alice")
    rotating_sandbox.state.latency = LATENCY
    run = cli.start("refresh", "alice")
    deadline = time.monotonic() + 30
    while not lock_held(lock):
        await asyncio.sleep(0.02)
        assert time.monotonic() < deadline and run.poll() is None
    await asyncio.sleep(SENT)  # the request is at the sandbox, which rotates, then answers
    assert run.poll() is None
    run.send_signal(signum)
    _, stderr = await asyncio.to_thread(run.communicate, timeout=60)

    assert run.returncode == status, stderr
    assert "Traceback" not in stderr
    after = secret_store.get(refresh_token_key("alice"))
    assert after and after != before  # the rotated one was stored
    rotating_sandbox.state.latency = 0.0
    again = await asyncio.to_thread(cli, "refresh", "alice")
    assert again.returncode == 0, again.stderr
    assert "invalid_grant" not in again.stderr


async def test_q_in_the_dashboard_during_a_refresh_keeps_the_rotated_refresh_token(
    tmp_path: Path, rotating_sandbox: Sandbox
) -> None:
    from textual.widgets import DataTable

    from ringplus_tui.store.secret_store import MemorySecretStore
    from ringplus_tui.tui.app import RingPlusApp

    store = MemorySecretStore()
    service = OAuthService(SettingsStore(tmp_path), store)
    await sign_in(service, rotating_sandbox)
    before = store.get(refresh_token_key("alice"))
    rotating_sandbox.state.latency = LATENCY
    app = RingPlusApp(service, refresh_automatically=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.dashboard.query_one(DataTable)
        table.move_cursor(row=table.get_row_index("alice"))
        await pilot.press("r")
        deadline = time.monotonic() + 10
        while not app.live.busy:
            await pilot.pause(0.02)
            assert time.monotonic() < deadline
        await pilot.pause(SENT)  # the request is at the sandbox, which rotates, then answers
        assert app.live.busy
        await pilot.press("q")
    after = store.get(refresh_token_key("alice"))
    assert after and after != before  # the rotated one was stored

    rotating_sandbox.state.latency = 0.0
    again = OAuthService(SettingsStore(tmp_path), store)
    try:
        await again.refresh("alice")  # no invalid_grant
    finally:
        await again.aclose()

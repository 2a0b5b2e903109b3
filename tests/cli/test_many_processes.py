"""The service and many ``ringplus-tui`` processes at once on one account, counted at the
sandbox (issue 16 items 3 and 4)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import (
    access_token_key,
    pending_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.cli import Cli, lock_held
from tests.helpers.flows import sign_in

# -- many processes at once (issue 16 items 3 and 4), counted at the sandbox ----------


async def _sign_in_accounts(
    config_dir: Path, secret_store, sandbox: Sandbox, names: list[str]
) -> None:
    service = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        for name in names:
            await sign_in(service, sandbox, name)
    finally:
        await service.aclose()


def _expire(config_dir: Path, names: list[str]) -> None:
    def change(settings):  # type: ignore[no-untyped-def]
        for name in names:
            settings = settings.with_account(
                replace(settings.accounts[name], expires_at=time.time() - 60)
            )
        return settings

    SettingsStore(config_dir).update(change)


async def test_eight_refresh_commands_at_once_send_one_request(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    await _sign_in_accounts(config_dir, secret_store, rotating_sandbox, ["alice"])
    rotating_sandbox.state.latency = 5.0  # every process starts while the first one waits

    runs = [cli.start("refresh", "alice") for _ in range(8)]
    outputs = [await asyncio.to_thread(run.communicate, timeout=90) for run in runs]

    assert [run.returncode for run in runs] == [0] * 8, [err for _, err in outputs]
    assert rotating_sandbox.token_requests.count("refresh_token") == 1
    assert len({out for out, _ in outputs}) == 1  # all report the same expiry
    rotating_sandbox.state.latency = 0.0
    assert cli("refresh", "alice").returncode == 0  # the rotated refresh token was kept


async def test_refresh_all_and_a_token_command_send_one_request_per_account(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    names = [f"user{i}" for i in range(10)]
    await _sign_in_accounts(config_dir, secret_store, rotating_sandbox, names)
    _expire(config_dir, names)
    rotating_sandbox.state.latency = 1.0

    batch = cli.start("refresh", "--all")
    await asyncio.sleep(0.3)
    script = cli.start("token", "user0")
    (_, batch_err), (token, token_err) = [
        await asyncio.to_thread(run.communicate, timeout=90) for run in (batch, script)
    ]

    assert batch.returncode == 0, batch_err
    assert script.returncode == 0 and token.strip(), token_err
    assert rotating_sandbox.token_requests.count("refresh_token") == 10
    assert token.strip() == secret_store.get(access_token_key("user0"))


async def test_removing_an_account_during_a_refresh_elsewhere_leaves_no_secret_behind(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    await _sign_in_accounts(config_dir, secret_store, rotating_sandbox, ["alice"])
    lock = OAuthService(SettingsStore(config_dir), secret_store).records.lock_path("alice")
    rotating_sandbox.state.latency = 2.0
    refresh = cli.start("refresh", "alice")
    deadline = time.monotonic() + 30
    while not lock_held(lock):  # the refresh holds the account's lock, its request in flight
        assert time.monotonic() < deadline and refresh.poll() is None
        await asyncio.sleep(0.02)

    removed = await asyncio.to_thread(cli, "account", "remove", "alice")
    await asyncio.to_thread(refresh.communicate, timeout=60)

    assert removed.returncode == 0, removed.stderr
    assert rotating_sandbox.token_requests.count("refresh_token") == 1
    for key in (access_token_key, refresh_token_key, pending_key):
        assert secret_store.get(key("alice")) is None
    assert "alice" not in SettingsStore(config_dir).load().accounts

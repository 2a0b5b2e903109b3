"""The installed ``ringplus-tui`` command run as a subprocess, against the sandbox on loopback.

Secrets go through keyring to the file backend this tier shares with its processes, under a
per-test service name (``RINGPLUS_TUI_KEYRING_SERVICE``), settings to a per-test directory.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace
from pathlib import Path

import httpx2

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import access_token_key
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.browser import sign_in_and_consent
from tests.helpers.cli import Cli, add_sandbox_app, cli_sign_in


def test_whole_flow_from_app_add_to_token(cli: Cli, sandbox: Sandbox, secret_store) -> None:
    add_sandbox_app(cli, sandbox)
    assert cli("account", "add", "alice", "--app", "sandbox").returncode == 0

    not_yet = cli("token", "alice")
    assert not_yet.returncode == 3 and not_yet.stdout == ""
    assert "not signed in" in not_yet.stderr

    started = cli("authorize", "alice")
    assert started.returncode == 0
    url = started.stdout.strip()
    assert started.stdout == url + "\n" and url.startswith(sandbox.base_url)
    redirected = sign_in_and_consent(url, "alice@example.com", "alice-pass")

    # A new process finishes what another one started: the pending sign-in is in the keyring.
    finished = cli("authorize", "alice", "--redirected-url", "-", stdin=redirected + "\n")
    assert finished.returncode == 0, finished.stderr

    first = cli("token", "alice")
    assert first.returncode == 0
    assert first.stdout.strip() == secret_store.get(access_token_key("alice"))

    status = json.loads(cli("status", "--json").stdout)
    assert status == [
        {
            "account": "alice",
            "app": "sandbox",
            "status": "valid",
            "expires_at": status[0]["expires_at"],
            "expires_in": status[0]["expires_in"],
            "scope": ["read"],
            "user": "Alice Example <alice@example.com>",
        }
    ]
    assert 3500 < status[0]["expires_in"] <= 3600

    refreshed = cli("refresh", "alice")
    assert refreshed.returncode == 0, refreshed.stderr
    second = cli("token", "alice").stdout.strip()
    assert second and second != first.stdout.strip()

    renamed = cli("account", "rename", "alice", "renamed")
    assert renamed.returncode == 0, renamed.stderr
    assert cli("token", "renamed").stdout.strip() == second

    revoked = cli("revoke", "renamed")
    assert revoked.returncode == 0, revoked.stderr
    me = httpx2.get(f"{sandbox.base_url}/users/me", headers={"Authorization": f"Bearer {second}"})
    assert me.status_code == 401  # the provider no longer accepts it
    assert cli("token", "renamed").returncode == 3


def test_exit_statuses_and_messages(cli: Cli, sandbox: Sandbox) -> None:
    unknown = cli("token", "nobody")
    assert unknown.returncode == 2
    assert "no account called 'nobody'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    bad = cli(
        "app", "add", "x", "--client-id", "c", "--redirect-uri", "www.ringplus.net", stdin="s\n"
    )
    assert bad.returncode == 2
    assert "--redirect-uri" in bad.stderr and "https://" in bad.stderr

    add_sandbox_app(cli, sandbox)
    cli("account", "add", "alice", "--app", "sandbox")
    in_use = cli("app", "remove", "sandbox")
    assert in_use.returncode == 2 and "alice" in in_use.stderr
    assert "sandbox" in cli("app", "list").stdout


def test_password_sign_in(cli: Cli, sandbox: Sandbox) -> None:
    add_sandbox_app(cli, sandbox)
    cli("account", "add", "bob", "--app", "sandbox")

    wrong = cli("login", "bob", "--username", "bob@example.com", stdin="not-it\n")
    assert wrong.returncode == 1
    assert "did not accept that email and password" in wrong.stderr
    assert cli("token", "bob").returncode == 3  # nothing stored

    right = cli("login", "bob", "--username", "bob@example.com", stdin="bob-pass\n")
    assert right.returncode == 0, right.stderr
    assert cli("token", "bob").returncode == 0


def test_network_failure_exits_4_and_changes_nothing(cli: Cli, secret_store) -> None:
    with Sandbox(token_lifetime=3600) as other:
        add_sandbox_app(cli, other)
        cli("account", "add", "carol", "--app", "sandbox")
        url = cli("authorize", "carol").stdout.strip()
        redirected = sign_in_and_consent(url, "alice@example.com", "alice-pass")
        assert cli("authorize", "carol", "--redirected-url", redirected).returncode == 0
    before = secret_store.get(access_token_key("carol"))
    down = cli("refresh", "carol")
    assert down.returncode == 4
    assert "Could not connect" in down.stderr
    assert secret_store.get(access_token_key("carol")) == before


def test_eight_token_commands_at_once_refresh_once(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    """The race: 8 ``token`` processes on an expired token with rotation on."""
    add_sandbox_app(cli, rotating_sandbox)
    cli_sign_in(cli, "alice")
    # The token expired (for this client) a minute ago.
    SettingsStore(config_dir).update(
        lambda s: s.with_account(replace(s.accounts["alice"], expires_at=time.time() - 60))
    )
    old = secret_store.get(access_token_key("alice"))

    runs = [cli.start("token", "alice") for _ in range(8)]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert [run.returncode for run in runs] == [0] * 8, [err for _, err in outputs]
    tokens = {out.strip() for out, _ in outputs}
    assert len(tokens) == 1 and old not in tokens
    assert rotating_sandbox.token_requests.count("refresh_token") == 1
    # The rotated refresh token was stored: a later refresh still works.
    assert cli("refresh", "alice").returncode == 0


async def test_token_command_while_the_service_refreshes(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    """A script and the app's service refreshing the same account at once never clash."""
    add_sandbox_app(cli, rotating_sandbox)
    cli("account", "add", "alice", "--app", "sandbox")
    service = OAuthService(SettingsStore(config_dir), secret_store)
    try:
        pending = await service.start_authorization("alice")
        redirected = await asyncio.to_thread(
            sign_in_and_consent, pending.authorization_url, "alice@example.com", "alice-pass"
        )
        await service.complete_authorization(redirected)
        for _ in range(3):
            script = await asyncio.to_thread(cli.start, "refresh", "alice")
            await service.refresh("alice")
            _, err = await asyncio.to_thread(script.communicate, timeout=60)
            assert script.returncode == 0, err
        token = await asyncio.to_thread(cli, "token", "alice")
        assert token.returncode == 0
        assert await service.refresh("alice")  # the stored refresh token is still good
    finally:
        await service.aclose()


async def test_tui_and_eight_token_commands_refresh_once_and_tui_sees_cli_changes(
    cli: Cli, rotating_sandbox: Sandbox, config_dir: Path, secret_store
) -> None:
    """The race with the dashboard running too: its automatic refresh and 8 scripts."""
    from textual.widgets import DataTable

    from ringplus_tui.tui.app import RingPlusApp
    from tests.helpers.pilot_helpers import wait_for

    add_sandbox_app(cli, rotating_sandbox)
    cli_sign_in(cli, "alice")
    store = SettingsStore(config_dir)
    store.update(
        lambda s: s.with_account(replace(s.accounts["alice"], expires_at=time.time() - 60))
    )

    app = RingPlusApp(OAuthService(store, secret_store))
    async with app.run_test(size=(120, 30)) as pilot:
        runs = [cli.start("token", "alice") for _ in range(8)]
        outputs = [await asyncio.to_thread(run.communicate, timeout=60) for run in runs]
        assert [run.returncode for run in runs] == [0] * 8, [err for _, err in outputs]
        await wait_for(pilot, lambda: not app.board.busy)
        assert len({out.strip() for out, _ in outputs}) == 1
        assert rotating_sandbox.token_requests.count("refresh_token") == 1

        # A refresh by the command line shows up on the dashboard without a restart.
        expiry = app.service.settings.accounts["alice"].expires_at
        done = await asyncio.to_thread(cli, "refresh", "alice")
        assert done.returncode == 0, done.stderr
        await wait_for(pilot, lambda: app.service.settings.accounts["alice"].expires_at != expiry)
        table = app.dashboard.query_one(DataTable)
        await wait_for(pilot, lambda: str(table.get_row_at(0)[1]) == "valid")
        assert await asyncio.to_thread(lambda: cli("token", "alice").stdout.strip()) == (
            secret_store.get(access_token_key("alice"))
        )


def test_token_never_prints_a_token_the_provider_rejected(
    cli: Cli, sandbox: Sandbox, config_dir: Path
) -> None:
    """An expired token whose refresh token was rejected: exit 3, nothing on stdout."""
    add_sandbox_app(cli, sandbox)
    cli_sign_in(cli, "alice")
    SettingsStore(config_dir).update(
        lambda s: s.with_account(replace(s.accounts["alice"], expires_at=time.time() - 60))
    )
    sandbox.revoke_all_tokens()
    failed = cli("refresh", "alice")
    assert failed.returncode == 3
    assert "ringplus-tui authorize alice" in failed.stderr and "key s" not in failed.stderr
    for _ in range(2):
        again = cli("token", "alice")
        assert again.returncode == 3 and again.stdout == ""

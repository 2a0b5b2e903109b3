"""``token`` when the refresh fails for a temporary reason: a token that is still valid
is printed with a warning (exit 0); only when none is usable does it exit 4.

Against the sandbox, with the fault injected at the token endpoint (``faults``), and once
as a real process against a provider that went away.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx2
import pytest

from ringplus_tui.cli import exits, tokens
from ringplus_tui.core.errors import NetworkError, RingPlusError
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import SettingsStore
from tests.helpers import REPO_ROOT
from tests.helpers.faults import FaultyTransport, on_grant


@pytest.fixture
async def down_at_refresh(config_dir: Path, sandbox: Sandbox) -> AsyncIterator[OAuthService]:
    """A service signed in as alice, whose token endpoint answers 503 to every refresh."""
    faulty = FaultyTransport(on_grant("refresh_token", httpx2.Response(503)))
    service = OAuthService(SettingsStore(config_dir), MemorySecretStore(), transport=faulty)
    await service.save_app(sandbox.demo_app(), sandbox.client_secret)
    await service.add_account("alice", "sandbox")
    await service.sign_in_with_password("alice", "alice@example.com", "alice-pass")
    yield service
    await service.aclose()


def one_hour_token_expiring_in(seconds: float):  # type: ignore[no-untyped-def]
    """A settings change: alice's one-hour token expires in ``seconds``."""
    expires_at = time.time() + seconds
    return lambda s: s.with_account(
        replace(s.accounts["alice"], expires_at=expires_at, obtained_at=expires_at - 3600)
    )


async def expire_in(service: OAuthService, config_dir: Path, seconds: float) -> None:
    SettingsStore(config_dir).update(one_hour_token_expiring_in(seconds))
    await service.reload()


def token_args(min_validity: float | None = None) -> argparse.Namespace:
    return argparse.Namespace(account="alice", min_validity=min_validity)


async def test_a_token_with_time_left_is_printed_with_a_warning_when_refresh_fails(
    down_at_refresh: OAuthService, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = down_at_refresh
    await expire_in(service, config_dir, 54)  # inside the refresh margin: due
    assert await tokens.token(service, token_args()) == 0
    out, err = capsys.readouterr()
    assert out.strip() == await service.access_token("alice")
    assert "warning: could not refresh 'alice'" in err and "503" in err
    assert "still valid for 5" in err  # 54 s, give or take the test's own time


async def test_no_usable_token_left_exits_4_and_prints_nothing(
    down_at_refresh: OAuthService, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = down_at_refresh
    await expire_in(service, config_dir, -5)
    with pytest.raises(NetworkError) as caught:
        await tokens.token(service, token_args())
    assert exits.exit_status(caught.value) == 4
    assert capsys.readouterr().out == ""


async def test_min_validity_refreshes_earlier_and_never_prints_less(
    down_at_refresh: OAuthService, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service = down_at_refresh
    await expire_in(service, config_dir, 600)  # well outside the margin
    with pytest.raises(NetworkError):
        await tokens.token(service, token_args(min_validity=900))  # needs more: refresh
    assert capsys.readouterr().out == ""
    assert await tokens.token(service, token_args(min_validity=300)) == 0  # enough left
    out, err = capsys.readouterr()
    assert out.strip() == await service.access_token("alice") and err == ""


async def test_min_validity_longer_than_any_token_says_so(
    config_dir: Path, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    service = OAuthService(SettingsStore(config_dir), MemorySecretStore())
    try:
        await service.save_app(sandbox.demo_app(), sandbox.client_secret)
        await service.add_account("alice", "sandbox")
        await service.sign_in_with_password("alice", "alice@example.com", "alice-pass")
        with pytest.raises(RingPlusError, match="last less than the 7200 s"):
            await tokens.token(service, token_args(min_validity=7200))  # tokens last 1 h
    finally:
        await service.aclose()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "soon", ""])
def test_min_validity_must_be_seconds(tmp_path: Path, text: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ringplus_tui", "--config-dir", str(tmp_path),
         "token", "alice", "--min-validity", text],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--min-validity" in result.stderr and "Traceback" not in result.stderr


def test_the_command_prints_a_valid_token_while_the_provider_is_down(tmp_path: Path) -> None:
    """A real ``token`` process; the provider went away after the sign-in."""
    home = tmp_path / "home"
    env = {
        **os.environ,
        "RINGPLUS_TUI_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "tests.helpers.fake_keyrings.FileKeyring",
        "FAKE_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    command = str(Path(sys.executable).with_name("ringplus-tui"))

    def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [command, *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
        )

    with Sandbox(token_lifetime=3600) as gone:
        p = gone.provider()
        assert cli(
            "app", "add", "sandbox", "--client-id", gone.client_id,
            "--redirect-uri", gone.redirect_uri, "--scope", "read",
            "--authorization-endpoint", p.authorization_endpoint,
            "--token-endpoint", p.token_endpoint, stdin=gone.client_secret + "\n",
        ).returncode == 0  # fmt: skip
        cli("account", "add", "alice", "--app", "sandbox")
        login = cli("login", "alice", "--username", "alice@example.com", stdin="alice-pass\n")
        assert login.returncode == 0, login.stderr
    signed_in = cli("token", "alice").stdout.strip()
    SettingsStore(home).update(one_hour_token_expiring_in(30))  # due: inside its margin
    kept = cli("token", "alice")
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.strip() == signed_in
    assert "could not refresh 'alice'" in kept.stderr and "Could not connect" in kept.stderr
    needs_more = cli("token", "alice", "--min-validity", "60")
    assert needs_more.returncode == 4 and needs_more.stdout == ""

"""The command line with a keyring that stops answering or answers late, in real processes.

The keyring backend is chosen through keyring's own environment variable
(``PYTHON_KEYRING_BACKEND``) from ``fake_keyrings``; the timeout is short through
``RINGPLUS_TUI_KEYRING_TIMEOUT``. None of these needs a real OS keyring.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.store.settings import SettingsStore
from tests.helpers import REPO_ROOT

COMMAND = str(Path(sys.executable).with_name("ringplus-tui"))
TESTS = str(REPO_ROOT)
TIMEOUT = 1.0
"""The keyring timeout these commands run with, seconds."""
SLACK = 6.0
"""Seconds a command may take beyond its keyring timeout (interpreter start, imports,
a busy machine). Without the bound, a stuck keyring keeps the command forever."""


def run(
    home: Path, *args: str, backend: str, stdin: str = "", **env: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        [COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "RINGPLUS_TUI_HOME": str(home),
            "RINGPLUS_TUI_KEYRING_SERVICE": "ringplus-tui-keyring-test",
            "RINGPLUS_TUI_KEYRING_TIMEOUT": str(TIMEOUT),
            "PYTHON_KEYRING_BACKEND": f"tests.helpers.fake_keyrings.{backend}",
            "PYTHONPATH": TESTS,
            **env,
        },
    )
    return done, time.monotonic() - started


def signed_in_account(home: Path, sandbox: Sandbox, *, expires_in: float) -> None:
    """The settings of an account signed in at the sandbox (its secrets are not needed)."""
    now = time.time()
    alice = Account(
        name="alice", app="sandbox", expires_at=now + expires_in, obtained_at=now - 60,
        has_refresh_token=True,
    )  # fmt: skip
    store = SettingsStore(home)
    store.save(store.load().with_app(sandbox.demo_app("sandbox")).with_account(alice))


@pytest.mark.parametrize(
    ("args", "expires_in"),
    [
        (("token", "alice"), 3600),  # the fast path: a fresh token, one keyring read
        (("token", "alice"), -60),  # expired: the service reads the refresh token
        (("refresh", "alice"), 3600),
        (("refresh", "--all"), 3600),
        (("forget", "alice"), 3600),
    ],
)
def test_a_stuck_keyring_ends_the_command_within_the_timeout(
    tmp_path: Path, sandbox: Sandbox, args: tuple[str, ...], expires_in: float
) -> None:
    signed_in_account(tmp_path, sandbox, expires_in=expires_in)
    before = (tmp_path / "config.toml").read_bytes()
    done, took = run(tmp_path, *args, backend="StuckKeyring")
    assert done.returncode == 1, done.stderr
    assert f"did not answer within {TIMEOUT:g} s" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert took < TIMEOUT + SLACK
    assert sandbox.token_requests == []  # nothing was sent without the refresh token
    assert (tmp_path / "config.toml").read_bytes() == before


def test_the_timeout_can_be_set_for_a_slow_unlock_prompt(tmp_path: Path, sandbox: Sandbox) -> None:
    """``HangingKeyring`` answers after 3 s: with a longer timeout the command waits for it."""
    signed_in_account(tmp_path, sandbox, expires_in=3600)
    done, _ = run(
        tmp_path, "token", "alice", backend="HangingKeyring", RINGPLUS_TUI_KEYRING_TIMEOUT="30"
    )
    # The hanging backend stores nothing: the command got an answer, not a timeout.
    assert done.returncode == 3, done.stderr
    assert "did not answer" not in done.stderr


def test_a_late_keyring_still_keeps_a_rotated_refresh_token(
    tmp_path: Path, rotating_sandbox: Sandbox
) -> None:
    """The provider rotates the refresh token; the keyring stores it only after the timeout.
    The command reports the timeout, waits for the write, and the next refresh works."""
    keyring_file = str(tmp_path / "keyring.json")
    home = tmp_path / "home"
    fast = {"FAKE_KEYRING_FILE": keyring_file}
    p = rotating_sandbox.provider()
    added, _ = run(
        home, "app", "add", "sandbox", "--client-id", rotating_sandbox.client_id,
        "--redirect-uri", rotating_sandbox.redirect_uri, "--scope", "read",
        "--authorization-endpoint", p.authorization_endpoint,
        "--token-endpoint", p.token_endpoint, "--api-base", p.api_base or "",
        backend="FileKeyring", stdin=rotating_sandbox.client_secret + "\n", **fast,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    run(home, "account", "add", "alice", "--app", "sandbox", backend="FileKeyring", **fast)
    login, _ = run(
        home, "login", "alice", "--username", "alice@example.com",
        backend="FileKeyring", stdin="alice-pass\n", **fast,
    )  # fmt: skip
    assert login.returncode == 0, login.stderr

    late, took = run(
        home, "refresh", "alice", backend="FileKeyring",
        FAKE_KEYRING_WRITE_DELAY=str(TIMEOUT * 1.5), **fast,
    )  # fmt: skip
    assert late.returncode == 1
    assert f"did not answer within {TIMEOUT:g} s while trying to store a secret" in late.stderr
    assert "answered late" in late.stderr
    assert took < 2 * TIMEOUT + SLACK
    assert rotating_sandbox.token_requests.count("refresh_token") == 1

    again, _ = run(home, "refresh", "alice", backend="FileKeyring", **fast)
    assert again.returncode == 0, again.stderr  # the rotated refresh token was kept
    token, _ = run(home, "token", "alice", backend="FileKeyring", **fast)
    assert token.returncode == 0 and token.stdout.strip()


def test_a_stuck_keyring_ends_a_sign_in_within_the_timeout(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    signed_in_account(tmp_path, sandbox, expires_in=3600)
    before = (tmp_path / "config.toml").read_bytes()
    done, took = run(
        tmp_path, "login", "alice", "--username", "alice@example.com",
        backend="StuckKeyring", stdin="alice-pass\n",
    )  # fmt: skip
    assert done.returncode == 1
    assert f"did not answer within {TIMEOUT:g} s" in done.stderr
    assert took < TIMEOUT + SLACK
    assert (tmp_path / "config.toml").read_bytes() == before

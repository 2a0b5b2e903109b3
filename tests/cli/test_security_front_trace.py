"""``--debug FILE`` writes every HTTP exchange and keyring call, and no secret
(issue 15, "what to build": the trace is covered by the redaction test)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.clients import traced_url
from ringplus_tui.store import trace
from ringplus_tui.store.secret_store import (
    MemorySecretStore,
    access_token_key,
    client_secret_key,
    refresh_token_key,
)
from tests.helpers.cli import Cli

COMMAND = str(Path(sys.executable).with_name("ringplus-tui"))
PASSWORD = "alice-pass"


def test_sign_in_and_refresh_with_debug_trace_every_exchange_and_no_secret(
    cli: Cli, secret_store, sandbox: Sandbox, tmp_path: Path
) -> None:
    log = tmp_path / "debug.log"
    p = sandbox.provider()
    steps = [
        (
            [
                "app", "add", "sandbox",
                "--client-id", sandbox.client_id,
                "--redirect-uri", sandbox.redirect_uri,
                "--scope", "read",
                "--authorization-endpoint", p.authorization_endpoint,
                "--token-endpoint", p.token_endpoint,
                "--revocation-endpoint", p.revocation_endpoint or "",
                "--api-base", p.api_base or "",
            ],
            sandbox.client_secret + "\n",
        ),
        (["account", "add", "alice", "--app", "sandbox"], ""),
        (["login", "alice", "--username", "alice@example.com"], PASSWORD + "\n"),
    ]  # fmt: skip
    traced_text = ""
    for args, stdin in steps:
        result = cli("--debug", str(log), *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        traced_text += log.read_text()
    seen_tokens = [secret_store.get(access_token_key("alice"))]
    seen_tokens.append(secret_store.get(refresh_token_key("alice")))
    result = cli("refresh", "alice", "--debug", str(log))  # after the command works too
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    traced_text += log.read_text()
    seen_tokens.append(secret_store.get(access_token_key("alice")))
    seen_tokens.append(secret_store.get(refresh_token_key("alice")))
    assert all(seen_tokens) and sandbox.token_requests.count("refresh_token") == 1

    # The exchanges and keyring calls are there: method, URL, status, timing; key names.
    assert f"http POST {p.token_endpoint} -> 200 (" in traced_text
    assert f"http GET {p.api_base}/users/me -> 200" in traced_text
    assert f"keyring set {client_secret_key('sandbox')} -> ok" in traced_text
    assert f"keyring set {refresh_token_key('alice')} -> ok" in traced_text
    assert f"keyring get {refresh_token_key('alice')} -> found" in traced_text
    # ...and none of the secrets.
    for secret in (sandbox.client_secret, PASSWORD, *seen_tokens):
        assert secret not in traced_text, secret[:6]


def test_a_bad_debug_file_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [COMMAND, "--debug", str(tmp_path), "--config-dir", str(tmp_path / "c"), "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "debug trace" in result.stderr.lower() and "Traceback" not in result.stderr


def test_the_trace_file_is_private_whatever_the_umask(tmp_path: Path) -> None:
    log = tmp_path / "debug.log"
    log.write_text("old")
    log.chmod(0o666)
    old = os.umask(0)
    try:
        opened = trace.start(log)
    finally:
        os.umask(old)
        trace.stop()
    assert opened.path == log
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert "old" not in log.read_text()


def test_a_link_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "debug.log").symlink_to(target)
    with pytest.raises(trace.TraceError):
        trace.start(tmp_path / "debug.log")
    assert target.read_text() == ""


def test_keyring_values_never_reach_the_trace(tmp_path: Path) -> None:
    log = tmp_path / "debug.log"
    trace.start(log)
    try:
        store = trace.traced(MemorySecretStore())
        store.set("account:alice:refresh_token", "rt-0123456789")
        assert store.get("account:alice:refresh_token") == "rt-0123456789"
        active = trace.active()
        assert active is not None
        active.write("http", "an echo of rt-0123456789 and cnQtMDEyMzQ1Njc4OQ")  # base64 too
    finally:
        trace.stop()
    text = log.read_text()
    assert "keyring set account:alice:refresh_token" in text
    assert "keyring get account:alice:refresh_token -> found" in text
    assert "rt-0123456789" not in text and "cnQtMDEyMzQ1Njc4OQ" not in text
    assert "[redacted]" in text


def test_without_debug_nothing_is_wrapped() -> None:
    store = MemorySecretStore()
    assert trace.active() is None and trace.traced(store) is store


def test_secret_query_parameters_are_redacted_from_traced_urls() -> None:
    url = httpx2.URL("https://api.example/users/me?access_token=AT-secret&page=2")
    shown = traced_url(url)
    assert "AT-secret" not in shown
    assert shown.startswith("https://api.example/users/me?") and "page=2" in shown

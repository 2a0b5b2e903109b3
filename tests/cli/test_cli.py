"""The installed command: help, python -m, and the standalone sandbox provider."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx2


def test_help_lists_sandbox() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ringplus_tui", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "--sandbox" in result.stdout and "sandbox" in result.stdout


def test_standalone_sandbox_prints_its_address_and_serves_until_stopped() -> None:
    # The console script installed next to this interpreter.
    command = Path(sys.executable).with_name("ringplus-tui")
    assert command.exists(), "the console script is installed with the package"
    server = subprocess.Popen(
        [command, "sandbox", "--token-lifetime", "120"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        match = re.search(r"running at (http://127\.0\.0\.1:\d+)", first)
        assert match, first
        base = match.group(1)
        rest = "".join(server.stdout.readline() for _ in range(11))
        assert "client_secret" in rest and "alice@example.com" in rest
        metadata = httpx2.get(f"{base}/.well-known/oauth-authorization-server", timeout=5)
        assert metadata.json()["token_endpoint"] == f"{base}/oauth/token"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=10) == 0


def test_unreadable_settings_give_a_message_not_a_traceback(tmp_path) -> None:
    (tmp_path / "config.toml").write_text("[apps\n")
    result = subprocess.run(
        [sys.executable, "-m", "ringplus_tui", "--config-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "is not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_sandbox_stays_on_loopback_unless_told_otherwise() -> None:
    """Plain-http OAuth with published demo passwords is never exposed by accident."""
    command = Path(sys.executable).with_name("ringplus-tui")
    refused = subprocess.run(
        [command, "sandbox", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=30
    )
    assert refused.returncode == 2  # the option given is what to change
    assert "--allow-remote" in refused.stderr and "Traceback" not in refused.stderr

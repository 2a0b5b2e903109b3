"""Run the installed ``ringplus-tui`` command as a subprocess, as a person or a script does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ringplus_tui.sandbox import Sandbox
from tests.helpers.browser import sign_in_and_consent

COMMAND = str(Path(sys.executable).with_name("ringplus-tui"))
NAMES = ("alice", "bob", "carol", "renamed")


class Cli:
    """Runs ``ringplus-tui`` with this test's settings directory and keyring service."""

    def __init__(self, home: Path, service_name: str) -> None:
        self.env = {
            **os.environ,
            "RINGPLUS_TUI_HOME": str(home),
            "RINGPLUS_TUI_KEYRING_SERVICE": service_name,
        }

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [COMMAND, *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=60
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``ringplus-tui ARGS`` as a shell would, with Ctrl+C's default action: a
        test runner started in the background ignores SIGINT, and children inherit it."""
        return subprocess.Popen(
            [COMMAND, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def add_sandbox_app(cli: Cli, sandbox: Sandbox) -> None:
    p = sandbox.provider()
    result = cli(
        "app", "add", "sandbox",
        "--client-id", sandbox.client_id,
        "--redirect-uri", sandbox.redirect_uri,
        "--scope", "read",
        "--authorization-endpoint", p.authorization_endpoint,
        "--token-endpoint", p.token_endpoint,
        "--revocation-endpoint", p.revocation_endpoint or "",
        "--api-base", p.api_base or "",
        stdin=sandbox.client_secret + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def cli_sign_in(cli: Cli, name: str) -> None:
    """``account add``, ``authorize``, the browser, ``authorize --redirected-url``."""
    cli("account", "add", name, "--app", "sandbox")
    url = cli("authorize", name).stdout.strip()
    redirected = sign_in_and_consent(url, "alice@example.com", "alice-pass")
    assert cli("authorize", name, "--redirected-url", redirected).returncode == 0


def lock_held(path: Path) -> bool:
    """Whether another process holds the account lock file at ``path`` (``flock``)."""
    import fcntl
    import os

    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False

"""The line between the layers: nothing below the screens imports Textual.

Checked in a fresh interpreter, because this test process has long imported Textual.
"""

from __future__ import annotations

import subprocess
import sys

NO_TEXTUAL = [
    "ringplus_tui.service",
    "ringplus_tui.settings",
    "ringplus_tui.secret_store",
    "ringplus_tui.models",
    "ringplus_tui.errors",
    "ringplus_tui.redirect",
    "ringplus_tui.tokens",
    "ringplus_tui.status",
    "ringplus_tui.validation",
    "ringplus_tui.prefill",
    "ringplus_tui.factory",
    "ringplus_tui.sandbox",
    "ringplus_tui.cli",
    "ringplus_tui.commands",
    "ringplus_tui.api",
    "ringplus_tui.locks",
    "ringplus_tui.httpio",
    "ringplus_tui.password",
    "ringplus_tui.htmlforms",
    "ringplus_tui.discovery",
    "ringplus_tui.oidc",
    "ringplus_tui.loopback",
    "ringplus_tui.scheduler",
]


def test_service_and_storage_import_no_textual() -> None:
    code = (
        "import sys\n"
        f"for name in {NO_TEXTUAL!r}: __import__(name)\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(leaked[:3])\n"
        "sys.exit(1 if leaked else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_storage_imports_no_http() -> None:
    code = (
        "import sys\n"
        "import ringplus_tui.settings, ringplus_tui.secret_store\n"
        "leaked = [m for m in ('httpx2', 'authlib') if m in sys.modules]\n"
        "print(leaked)\n"
        "sys.exit(1 if leaked else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

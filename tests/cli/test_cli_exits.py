"""Exit statuses: one table, and the same answer from every command for the same problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ringplus_tui.cli import exits
from ringplus_tui.core.errors import (
    ConfigError,
    NeedsSignInError,
    NetworkError,
    SecretStoreError,
    SettingsFileError,
    TokenEndpointError,
)
from ringplus_tui.core.validation import FieldError

COMMAND = str(Path(sys.executable).with_name("ringplus-tui"))


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, "--config-dir", str(home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NeedsSignInError("x"), 3),
        (NetworkError("x"), 4),
        (ConfigError("x"), 2),
        (FieldError("redirect_uri", "x"), 2),
        (SettingsFileError("x"), 1),
        (SecretStoreError("x"), 1),
        (TokenEndpointError("x"), 1),
        (KeyboardInterrupt(), 130),
        (ValueError("x"), 1),
    ],
)
def test_each_error_class_has_its_documented_status(error: BaseException, status: int) -> None:
    assert exits.exit_status(error) == status


@pytest.mark.parametrize(
    "args",
    [
        ("status",),
        ("status", "--json"),
        ("account", "list"),
        ("app", "list"),
        ("token", "alice"),
        ("refresh", "--all"),
        (),  # the dashboard
    ],
)
def test_settings_that_cannot_be_read_exit_1_from_every_command(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "config.toml").write_text("[apps\n")
    result = run(tmp_path, *args)
    assert result.returncode == 1, result.stderr
    assert "is not valid TOML" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_value_in_the_settings_is_a_failure_too(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[accounts.a]\napp = "x"\nexpires_at = "soon"\n')
    result = run(tmp_path, "status")
    assert result.returncode == 1
    assert "expires_at" in result.stderr


def test_an_unknown_name_in_readable_settings_stays_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("# nothing yet\n")
    for args in (("token", "nobody"), ("forget", "nobody"), ("account", "add", "a", "--app", "x")):
        result = run(tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr

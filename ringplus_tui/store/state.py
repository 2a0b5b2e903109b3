"""The state file: what the program learned about each account, in JSON.

Never hand-edited. It looks like::

    {"format": 1,
     "accounts": {"alice": {"expires_at": 1764400000.0, "obtained_at": 1764313600.0,
                            "scope": ["read"], "token_type": "Bearer",
                            "has_refresh_token": true}}}

Keys at their default are left out. Written atomically, mode 0600 (see
:mod:`ringplus_tui.store.files`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ringplus_tui.core.errors import SettingsFileError

from .schema import ACCOUNT_FIELDS, STATE, expect, load_values

FORMAT = 1
"""The state file's format version; a file with a higher one is refused, not overwritten."""

_STATE_FIELDS = tuple(f for f in ACCOUNT_FIELDS if f.file == STATE)

AccountStates = dict[str, dict[str, Any]]
"""Per account name, its state keys (as JSON values, defaults left out)."""


def read_state(path: Path) -> AccountStates:
    """Read the state file; a missing or empty file is no state.

    Returns:
        The raw per-account entries (unchecked; see :func:`check_state`).

    Raises:
        ConfigError: It cannot be read, is not JSON, or has another format version.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise SettingsFileError(
            f"Cannot read {path}: {err.strerror}. Check the file's permissions."
        ) from err
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw.decode("utf-8", errors="replace"))
    except ValueError as err:
        raise SettingsFileError(
            f"{path} is not valid JSON ({err}). The program writes this file; move it away "
            "and the accounts will show as signed out until they are signed in or refreshed."
        ) from err
    expect(data, dict, str(path), "a JSON object")
    version = data.get("format")
    if version != FORMAT:
        raise SettingsFileError(
            f"{path} has format {version!r}, but this version of ringplus-tui reads format "
            f"{FORMAT}. Use the version that wrote it, or move the file away."
        )
    accounts = expect(data.get("accounts", {}), dict, f"{path}: accounts", "an object")
    for name, entry in accounts.items():
        expect(entry, dict, f"{path}: accounts.{name}", "an object")
    return {str(name): dict(entry) for name, entry in accounts.items()}


def check_state(entry: dict[str, Any], where: str) -> dict[str, Any]:
    """The checked state values of one account (unknown keys are ignored).

    Raises:
        ConfigError: A value has the wrong type.
    """
    return load_values(_STATE_FIELDS, entry, where)


def render_state(accounts: AccountStates) -> bytes:
    """The state file's bytes for ``accounts`` (sorted, so equal state gives equal bytes)."""
    data = {"format": FORMAT, "accounts": {k: accounts[k] for k in sorted(accounts)}}
    return (json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()

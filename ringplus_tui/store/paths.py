"""Where the settings file, the state file and the lock file live.

A profile is one settings directory. The default profile is the platform's config
directory (``platformdirs``); ``$RINGPLUS_TUI_HOME`` or ``--config-dir`` choose
another one. The default profile keeps its state file in the platform's state
directory; any other profile keeps it inside its own directory, so tests and
extra profiles never touch the person's real state.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_FILE = "config.toml"
"""The file a person edits: apps, endpoints, scopes, accounts and their options."""
STATE_FILE = "state.json"
"""The file the program writes: what it learned about tokens and accounts."""
LOCK_FILE = ".config.lock"
"""The lock that serialises read-modify-write of both files across processes."""
ENV_HOME = "RINGPLUS_TUI_HOME"
"""Environment variable naming the settings directory of a profile."""
APP_NAME = "ringplus-tui"


def platform_config_dir() -> Path:
    """The platform's settings directory for ringplus-tui (not created)."""
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def platform_state_dir() -> Path:
    """The platform's state directory for ringplus-tui (not created).

    On Linux this is ``$XDG_STATE_HOME/ringplus-tui`` (``~/.local/state/ringplus-tui``).
    """
    import platformdirs

    return Path(platformdirs.user_state_dir(APP_NAME, appauthor=False))


def default_config_dir() -> Path:
    """Return the settings directory: ``$RINGPLUS_TUI_HOME`` or the platform's config dir.

    Returns:
        The directory path (not created).
    """
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return platform_config_dir()


def is_default_profile(directory: Path) -> bool:
    """Whether ``directory`` is the platform's config directory (the default profile).

    Symlinked paths to the same directory are the same profile (as for the keyring
    service name, :func:`~ringplus_tui.store.secret_store.keyring_service`).
    """
    here = os.path.realpath(directory.expanduser())
    return here == os.path.realpath(platform_config_dir())


def state_path(directory: Path) -> Path:
    """The state file of the profile whose settings live in ``directory``.

    Returns:
        ``<platform state dir>/state.json`` for the default profile,
        ``<directory>/state.json`` for any other.
    """
    if is_default_profile(directory):
        return platform_state_dir() / STATE_FILE
    return directory / STATE_FILE

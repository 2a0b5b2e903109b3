"""Settings: apps and accounts, kept in two files by :class:`SettingsStore`.

``config.toml`` (:mod:`ringplus_tui.store.config`) holds what a person sets and
keeps their comments; the state file (:mod:`ringplus_tui.store.state`) holds what
the program learns about tokens. Which field goes where, its type and default are
declared once in :mod:`ringplus_tui.store.schema`. Secrets are in neither file:
the client secret, access token and refresh token live in the secret store.

This module knows nothing of HTTP.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ringplus_tui.core.errors import ConfigError, SettingsFileError
from ringplus_tui.core.models import Account, AppConfig

from . import config as config_file
from . import state as state_file
from .files import (
    Signature,
    check_private,
    file_signature,
    make_private_dir,
    write_atomically,
)
from .paths import (
    CONFIG_FILE,
    ENV_HOME,
    LOCK_FILE,
    STATE_FILE,
    default_config_dir,
    platform_config_dir,
    platform_state_dir,
    state_path,
)
from .schema import (
    ACCOUNT_FIELDS,
    ACCOUNT_KEYS,
    ACCOUNT_STATE_KEYS,
    CONFIG,
    STATE,
    check_keys,
    dump_account,
    dump_app,
    expect,
    forgotten,
    load_values,
    make_account,
    parse_app,
    settings_part,
)
from .state import AccountStates

__all__ = [
    "CONFIG_FILE",
    "ENV_HOME",
    "STATE_FILE",
    "Settings",
    "SettingsStore",
    "StoreSignature",
    "default_config_dir",
    "forgotten",
    "platform_config_dir",
    "platform_state_dir",
]

StoreSignature = tuple[Signature | None, Signature | None]
"""The signatures of ``config.toml`` and of the state file (``None`` for a missing one)."""

_WRITTEN_BEFORE_STATE_FILE = frozenset({"scope", "has_refresh_token"})
"""Keys the store wrote in every account table before the state file existed."""
_LOCK_TIMEOUT = 30.0
"""Seconds to wait for another process's read-modify-write."""
_MIGRATION_LOCK_TIMEOUT = 5.0
"""Seconds a read waits to move old token metadata out of ``config.toml``; it tries
again on the next read when another process holds the lock longer."""


@dataclass(frozen=True)
class Settings:
    """Everything in ``config.toml``, as immutable records.

    Attributes:
        apps: Apps by name.
        accounts: Accounts by name.
    """

    apps: Mapping[str, AppConfig] = field(default_factory=dict)
    accounts: Mapping[str, Account] = field(default_factory=dict)

    def with_app(self, app: AppConfig) -> Settings:
        """Return a copy with ``app`` added or replaced."""
        return replace(self, apps={**self.apps, app.name: app})

    def with_account(self, account: Account) -> Settings:
        """Return a copy with ``account`` added or replaced."""
        return replace(self, accounts={**self.accounts, account.name: account})

    def without_account(self, name: str) -> Settings:
        """Return a copy without the account ``name``."""
        return replace(self, accounts={k: v for k, v in self.accounts.items() if k != name})

    def without_app(self, name: str) -> Settings:
        """Return a copy without the app ``name`` (its accounts stay)."""
        return replace(self, apps={k: v for k, v in self.apps.items() if k != name})

    def accounts_of(self, app: str) -> list[str]:
        """Names of the accounts that sign in through ``app``."""
        return sorted(name for name, account in self.accounts.items() if account.app == app)

    def app(self, name: str) -> AppConfig:
        """Return the app called ``name``.

        Raises:
            ConfigError: No such app (the message suggests a close name).
        """
        try:
            return self.apps[name]
        except KeyError:
            raise ConfigError(_unknown("app", name, self.apps)) from None

    def account(self, name: str) -> Account:
        """Return the account called ``name``.

        Raises:
            ConfigError: No such account (the message suggests a close name).
        """
        try:
            return self.accounts[name]
        except KeyError:
            raise ConfigError(_unknown("account", name, self.accounts)) from None


def _unknown(kind: str, name: str, known: Mapping[str, object]) -> str:
    import difflib  # only for a name that is not there

    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    if not known:
        return f"There is no {kind} called '{name}': none is set up yet.{hint}"
    return f"There is no {kind} called '{name}'.{hint}"


class SettingsStore:
    """Reads and writes one profile's settings: ``config.toml`` and its state file.

    ``config.toml`` is written only when something a person sets changes (an app,
    an account's app or options), and then only the changed keys; a refresh or a
    sign-in writes the state file alone. The state file is
    ``<platform state dir>/state.json`` for the default profile and
    ``<directory>/state.json`` for any other (:func:`~ringplus_tui.store.paths.state_path`).

    Args:
        directory: The settings directory; created (mode 0700) on first save.
        state_file: Where the state file is; by default as described above.
    """

    def __init__(self, directory: Path, *, state_file: Path | None = None) -> None:
        self.directory = directory
        self.path = directory / CONFIG_FILE
        """The settings file a person edits."""
        self.state_path = state_file if state_file is not None else state_path(directory)
        """The state file the program writes."""
        self._seen: tuple[StoreSignature, Settings] | None = None
        """Both files' signatures and their contents as this store last read or wrote them."""
        self._config_seen: tuple[Signature | None, Settings | None] = (None, None)
        """``config.toml``'s signature and what it says alone (``None``: it must be
        parsed again, e.g. it still holds token metadata), as last read or written."""
        self._states_seen: tuple[Signature | None, AccountStates] | None = None
        """The state file's signature and its entries, as last read or written."""

    @property
    def lock_path(self) -> Path:
        """The lock file that serialises read-modify-write across processes."""
        return self.directory / LOCK_FILE

    def signature(self) -> StoreSignature | None:
        """A cheap fingerprint of both files (inode, size, mtime in ns each).

        It changes when either file is written, by this process or another.

        Returns:
            ``None`` when neither file exists.
        """
        both = (file_signature(self.path), file_signature(self.state_path))
        return None if both == (None, None) else both

    def load(self) -> Settings:
        """Read both files; missing or empty files are empty settings.

        Token metadata still in ``config.toml`` (from versions before the state
        file) is moved to the state file on the way, under the lock; if that
        cannot be done now, it is read from ``config.toml`` and moved next time.

        Returns:
            The parsed settings.

        Raises:
            ConfigError: A file cannot be read, is not TOML or JSON (the message
                gives line and column), has the wrong format version, a value
                has the wrong type or an unknown key, or a file or directory
                could have been changed by another user
                (:func:`~ringplus_tui.store.files.check_private`).
        """
        settings, legacy = self._read()
        if not legacy:
            return settings
        import filelock

        try:
            with self._lock(_MIGRATION_LOCK_TIMEOUT):
                settings, legacy = self._read()
                if legacy:
                    self.save(settings)
        except (ConfigError, filelock.Timeout):
            pass  # read-only, or busy: the metadata stays readable in config.toml
        return settings

    def update(self, change: Callable[[Settings], Settings]) -> Settings:
        """Read both files, apply ``change``, write back what changed: all under a lock.

        Another process's change made meanwhile is never lost, because ``change``
        is applied to what is on disk now, not to an old copy.

        Args:
            change: A pure function from the current settings to the new ones;
                it may raise to abort (then nothing is written).

        Returns:
            The settings written.

        Raises:
            ConfigError: A file cannot be read or written, is not private, or
                the lock cannot be taken (read-only directory, symlinked lock
                file) or not within 30 s.
        """
        import filelock

        try:
            make_private_dir(self.directory)
        except OSError as err:
            raise SettingsFileError(f"Cannot create {self.directory}: {err.strerror}.") from err
        try:
            with self._lock(_LOCK_TIMEOUT):
                # Unchanged since this store last read or wrote them (same inodes,
                # sizes and mtimes): no need to parse them again.
                seen = self._seen
                current = seen[1] if seen and seen[0] == self.signature() else self._read()[0]
                new = change(current)
                self.save(new)
                return new
        except filelock.Timeout as err:
            raise SettingsFileError(
                f"Another ringplus-tui process has held {self.lock_path} for 30 s. "
                "Close it or try again."
            ) from err

    def save(self, settings: Settings) -> None:
        """Write what changed, each file atomically: a reader sees the old file or the new one.

        The state file is written first (keeping, until ``config.toml`` is
        written, the entries of accounts that only the old ``config.toml`` still
        names), so no token metadata is lost if writing ``config.toml`` fails.

        Args:
            settings: What to write.

        Raises:
            ConfigError: A file cannot be read or written (``config.toml`` is
                then unchanged), or the state file has a format this version
                cannot read (it is not overwritten).
        """
        config_sig = file_signature(self.path)
        state_sig = file_signature(self.state_path)
        seen_states = self._states_seen
        if seen_states is not None and seen_states[0] == state_sig and state_sig is not None:
            old_states = seen_states[1]
        else:
            old_states = state_file.read_state(self.state_path)
        states = {
            name: entry
            for name, account in settings.accounts.items()
            if (entry := dump_account(account, STATE))
        }
        kept = {k: v for k, v in old_states.items() if k not in settings.accounts}
        staged = {**kept, **states}
        if staged != old_states:
            state_sig = self._write(self.state_path, state_file.render_state(staged))
        own = _settings_part(settings)
        said = self._config_seen
        if config_sig is not None and said[0] == config_sig and said[1] is not None:
            text, differs = None, said[1] != own  # known: no need to read it again
        else:
            text = config_file.read_text(self.path)
            differs = text is None or self._config_differs(text, own)
        if differs:
            if text is None:
                text = config_file.read_text(self.path)
            new_text = config_file.render(
                text,
                {
                    "apps": {name: dump_app(app) for name, app in settings.apps.items()},
                    "accounts": {
                        name: dump_account(account, CONFIG)
                        for name, account in settings.accounts.items()
                    },
                },
                lambda section, name, table: self._means(section, name, table, settings),
                {"accounts": ACCOUNT_STATE_KEYS},
            )
            config_sig = self._write(self.path, new_text.encode("utf-8"))
        if staged != states:
            state_sig = self._write(self.state_path, state_file.render_state(states))
        self._seen = ((config_sig, state_sig), settings)
        self._config_seen = (config_sig, own)
        self._states_seen = (state_sig, states)

    # -- inside ---------------------------------------------------------------

    @contextlib.contextmanager
    def _lock(self, timeout: float) -> Iterator[None]:
        """Hold :attr:`lock_path` (created 0600).

        Raises:
            filelock.Timeout: Another process held it for ``timeout`` seconds.
            ConfigError: It cannot be created or is a symbolic link.
        """
        import filelock

        check_private(self.lock_path, "The lock file")
        lock = filelock.FileLock(self.lock_path, timeout=timeout, thread_local=False, mode=0o600)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise
        except OSError as err:
            raise SettingsFileError(self._lock_problem(err), title="Settings not writable") from err
        try:
            yield
        finally:
            lock.release()

    def _lock_problem(self, err: OSError) -> str:
        path, directory = self.lock_path, self.directory
        if path.is_symlink() or err.errno == errno.ELOOP:
            return (
                f"{path} is a symbolic link, and ringplus-tui does not follow links for its "
                f"lock file. It holds nothing: remove it (rm '{path}') and try again."
            )
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return (
                f"Cannot create the lock file {path}: {err.strerror}. Changing settings "
                f"needs a writable settings directory: make {directory} writable "
                f"(chmod u+w '{directory}'), or use another one with --config-dir. "
                "Nothing was changed."
            )
        return (
            f"Cannot use the lock file {path}: {err.strerror}. Remove it if it is not a "
            "plain file, and try again. Nothing was changed."
        )

    def _check_private(self) -> None:
        """Refuse files and directories another user could have changed (see files.py)."""
        check_private(self.directory, "The settings directory")
        check_private(self.path, "The settings file")
        if self.state_path.parent != self.directory:
            check_private(self.state_path.parent, "The state directory")
        check_private(self.state_path, "The state file")

    def _write(self, path: Path, data: bytes) -> Signature:
        try:
            return write_atomically(path, data)
        except OSError as err:
            raise SettingsFileError(
                f"Cannot write {path}: {err.strerror}. Nothing was changed; check "
                "the directory's permissions and free space."
            ) from err

    def _read(self) -> tuple[Settings, bool]:
        """Parse both files; also say whether ``config.toml`` still holds token metadata."""
        # The signature first: a file replaced while being read then looks changed
        # next time (and is read again), never the other way round.
        self._check_private()
        signature = self.signature()
        text = config_file.read_text(self.path)
        data = config_file.parse_text(text, self.path) if text else {}
        states = state_file.read_state(self.state_path)
        settings, legacy = self._parse(data, states)
        if signature is not None:
            self._seen = (signature, settings)
            self._config_seen = (signature[0], None if legacy else _settings_part(settings))
            self._states_seen = (signature[1], states)
        return settings, legacy

    def _parse(self, data: Mapping[str, Any], states: AccountStates) -> tuple[Settings, bool]:
        path = self.path
        check_keys(data, config_file.SECTIONS, str(path))
        apps: dict[str, AppConfig] = {}
        for name, table in expect(data.get("apps", {}), dict, f"{path}: [apps]", "a table").items():
            where = f"{path}: [apps.{name}]"
            apps[name] = parse_app(name, expect(table, dict, where, "a table"), where)
        accounts: dict[str, Account] = {}
        legacy = False
        section = expect(data.get("accounts", {}), dict, f"{path}: [accounts]", "a table")
        for name, table in section.items():
            where = f"{path}: [accounts.{name}]"
            expect(table, dict, where, "a table")
            check_keys(table, ACCOUNT_KEYS, where)
            values = load_values(ACCOUNT_FIELDS, table, where)
            legacy = legacy or bool(ACCOUNT_STATE_KEYS & set(table))
            if not _WRITTEN_BEFORE_STATE_FILE.issubset(table):
                # A table written before the state file existed is the whole truth;
                # otherwise what config.toml says (even by hand) wins over the state.
                state_where = f"{self.state_path}: accounts.{name}"
                values = {**state_file.check_state(states.get(name, {}), state_where), **values}
            accounts[name] = make_account(name, values, where)
        return Settings(apps=apps, accounts=accounts), legacy

    def _config_differs(self, text: str, own: Settings) -> bool:
        """Whether ``config.toml`` as ``text`` says something other than ``own``
        (settings with every state field at its default)."""
        try:
            data = config_file.parse_text(text, self.path)
            on_disk, legacy = self._parse(data, {})
        except ConfigError:
            return True
        if legacy:
            return True
        return on_disk != own

    def _means(self, section: str, name: str, table: dict[str, Any], settings: Settings) -> bool:
        """Whether a ``config.toml`` table already says what ``settings`` holds for ``name``."""
        where = f"{self.path}: [{section}.{name}]"
        try:
            if section == "apps":
                return parse_app(name, table, where) == settings.apps[name]
            check_keys(table, ACCOUNT_KEYS, where)
            found = make_account(name, load_values(ACCOUNT_FIELDS, table, where), where)
        except ConfigError:
            return False
        return settings_part(found) == settings_part(settings.accounts[name])


def _settings_part(settings: Settings) -> Settings:
    return replace(settings, accounts={k: settings_part(v) for k, v in settings.accounts.items()})

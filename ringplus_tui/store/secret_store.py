"""Where secrets live: the OS keyring, or memory for the sandbox demo.

Each secret is its own entry under the service name ``ringplus-tui``, so no entry
grows past a backend's size limit and one failed write never mixes old and new
values of another secret. Entry names (the keyring's "username")::

    app:<app name>:client_secret
    account:<account name>:access_token
    account:<account name>:refresh_token
    account:<account name>:pending        (a started sign-in: state, code_verifier; 10 min)

The stores here are synchronous, as :mod:`keyring` is. :class:`SecretVault` wraps
one in ``asyncio.to_thread`` with a timeout, so a keyring that waits for an unlock
prompt never freezes the UI. This module knows nothing of HTTP or Textual.

``python -m ringplus_tui.store.secret_store SERVICE`` is the keyring check that
:meth:`KeyringSecretStore.check` runs in a child process: it exits 0 when the
keyring answers, or prints what is wrong and exits 3.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Protocol

from ringplus_tui.core.errors import SecretStoreError

SERVICE_NAME = "ringplus-tui"
ENV_SERVICE = "RINGPLUS_TUI_KEYRING_SERVICE"
"""Environment variable that overrides the keyring service name (e.g. a second profile)."""
KEYRING_TIMEOUT = 20.0
"""Seconds to wait for the keyring before reporting that it did not answer."""
PROBE_KEY = "ringplus-tui:probe"
"""The entry :meth:`SecretStore.check` reads; it is never written."""
_PROBE_FAILED = 3
"""Exit status of the child-process check when the keyring does not work."""

_NO_BACKEND_HELP = (
    "Start a Secret Service (for example gnome-keyring or KeePassXC) and sign in to "
    "your desktop session, or choose another keyring backend such as keyrings.alt or "
    "keyrings.cryptfile through keyring's own configuration (PYTHON_KEYRING_BACKEND). "
    "To try the app without a keyring, run 'ringplus-tui --sandbox'."
)


def client_secret_key(app: str) -> str:
    """Entry name of an app's client secret."""
    return f"app:{app}:client_secret"


def access_token_key(account: str) -> str:
    """Entry name of an account's access token."""
    return f"account:{account}:access_token"


def refresh_token_key(account: str) -> str:
    """Entry name of an account's refresh token."""
    return f"account:{account}:refresh_token"


def pending_key(account: str) -> str:
    """Entry name of an account's pending authorization (``state``, ``code_verifier``)."""
    return f"account:{account}:pending"


class SecretStore(Protocol):
    """A place that keeps secrets by name. Calls may block.

    Implementations raise :class:`SecretStoreError` for every failure; a missing
    entry is ``None`` from :meth:`get`, never an error.
    """

    description: str
    """Human name of the backend, shown in the UI (e.g. ``SecretService keyring``)."""

    def get(self, key: str) -> str | None:
        """Return the secret stored under ``key``, or ``None``."""
        ...

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing any old value."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; removing a missing entry is not an error."""
        ...

    def check(self, timeout: float) -> None:
        """Find out whether the store works, taking at most ``timeout`` seconds.

        Raises:
            SecretStoreError: It does not.
        """
        ...


class MemorySecretStore:
    """Secrets held in this process only: for ``--sandbox`` and nothing else."""

    description = "sandbox memory"
    blocking = False
    """Its calls never wait, so :class:`SecretVault` makes them without a thread."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        """Return the secret stored under ``key``, or ``None``."""
        with self._lock:
            return self._data.get(key)

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``."""
        with self._lock:
            self._data[key] = value

    def delete(self, key: str) -> None:
        """Remove ``key`` if present."""
        with self._lock:
            self._data.pop(key, None)

    def check(self, timeout: float) -> None:
        """Memory always works."""


_KEYRING_LOCK = threading.Lock()
"""keyring's backends are not documented as thread-safe; calls from worker threads
(several refreshes at once) take turns."""


def keyring_service(config_dir: Path | None) -> str:
    """The keyring service name for the settings in ``config_dir``.

    Each settings directory is its own profile: the platform's default directory
    uses ``ringplus-tui``, any other (``--config-dir``, ``$RINGPLUS_TUI_HOME``)
    ``ringplus-tui@<absolute path>``, so an account called ``jane`` in one never
    reads, refreshes or deletes the tokens of ``jane`` in another.
    ``$RINGPLUS_TUI_KEYRING_SERVICE`` overrides both.

    Args:
        config_dir: The settings directory; ``None`` for the default one.
    """
    import os

    override = os.environ.get(ENV_SERVICE)
    if override:
        return override
    if config_dir is None:
        return SERVICE_NAME
    from .settings import platform_config_dir

    # realpath: a symlinked path to the same directory is the same profile.
    here = Path(os.path.realpath(config_dir.expanduser()))
    if here == Path(os.path.realpath(platform_config_dir())):
        return SERVICE_NAME
    return f"{SERVICE_NAME}@{here}"


class KeyringSecretStore:
    """Secrets in the OS keyring through :mod:`keyring` (Secret Service, Keychain, …).

    Calls are serialised in this process (backends are not documented as
    thread-safe), and each one runs off the event loop through :class:`SecretVault`.

    Args:
        service: The keyring service name (see :func:`keyring_service`):
            ``$RINGPLUS_TUI_KEYRING_SERVICE`` or ``ringplus-tui`` when omitted.
    """

    def __init__(self, service: str | None = None) -> None:
        import os

        self.service = service or os.environ.get(ENV_SERVICE) or SERVICE_NAME
        self.description = "OS keyring"

    def _translate(self, err: Exception, action: str) -> SecretStoreError:
        from keyring.errors import KeyringLocked, NoKeyringError

        if isinstance(err, NoKeyringError):
            return SecretStoreError(f"No OS keyring is available. {_NO_BACKEND_HELP}")
        if isinstance(err, KeyringLocked):
            return SecretStoreError(
                f"The keyring is locked, so the app could not {action}. Unlock it "
                "(or accept the unlock prompt) and try again; nothing was changed."
            )
        name = type(err).__name__
        text = str(err).strip() or name
        return SecretStoreError(
            f"The keyring could not {action} ({name}: {text:.120}). Nothing was changed; "
            "check that your keyring is unlocked and working."
        )

    def get(self, key: str) -> str | None:
        """Return the secret stored under ``key``, or ``None``.

        Raises:
            SecretStoreError: No backend, locked, or another keyring failure.
        """
        import keyring

        try:
            with _KEYRING_LOCK:
                value: str | None = keyring.get_password(self.service, key)
        except Exception as err:
            raise self._translate(err, "read a secret") from err
        return value

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` and read it back.

        Raises:
            SecretStoreError: The write failed, or the backend silently dropped it.
        """
        import keyring

        try:
            with _KEYRING_LOCK:
                keyring.set_password(self.service, key, value)
                stored = keyring.get_password(self.service, key)
        except Exception as err:
            raise self._translate(err, f"store a secret of {len(value)} characters") from err
        if stored != value:
            raise SecretStoreError(
                "The keyring accepted a secret but did not keep it (the active backend "
                "stores nothing). Choose a working keyring backend; nothing was signed in."
            )

    def check(self, timeout: float) -> None:
        """Read a missing entry (:data:`PROBE_KEY`) to find out whether the keyring works.

        While :mod:`keyring` is not loaded in this process, the read runs in a child
        process (``python -m ringplus_tui.store.secret_store``) killed after ``timeout``
        seconds: the keyring client (keyring, secretstorage, cryptography: about
        10 MiB) then loads here only when a secret is first needed, and a check that
        hangs (jaraco/keyring #473) leaves no thread behind. Once it is loaded, or
        if the child cannot run, the read happens here.

        Args:
            timeout: Seconds to wait for the child's answer.

        Raises:
            SecretStoreError: No backend, locked, failing, or no answer in time.
        """
        if "keyring" in sys.modules:
            self.get(PROBE_KEY)
            return
        argv = [sys.executable, "-P", "-m", __name__, self.service]  # -P: not the cwd
        try:
            done = subprocess.run(
                argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise SecretStoreError(
                f"The keyring did not answer within {timeout:g} s while the app checked it "
                "at start. If it shows an unlock prompt, answer it and try again."
            ) from None
        except OSError:
            done = None
        if done is not None and done.returncode == 0:
            return
        if done is not None and done.returncode == _PROBE_FAILED and done.stdout.strip():
            raise SecretStoreError(done.stdout.strip())
        self.get(PROBE_KEY)  # the child itself failed: look here, to say why

    def delete(self, key: str) -> None:
        """Remove ``key`` if present.

        Raises:
            SecretStoreError: The backend failed.
        """
        import keyring
        from keyring.errors import PasswordDeleteError

        try:
            with _KEYRING_LOCK:
                keyring.delete_password(self.service, key)
        except PasswordDeleteError:
            return
        except Exception as err:
            raise self._translate(err, "delete a secret") from err


class SecretVault:
    """Async access to a :class:`SecretStore`, off the event loop, with a timeout.

    Args:
        store: The blocking store.
        timeout: Seconds to wait for one call (default :data:`KEYRING_TIMEOUT`).
    """

    def __init__(self, store: SecretStore, *, timeout: float = KEYRING_TIMEOUT) -> None:
        self.store = store
        self.timeout = timeout

    async def _call(self, what: str, func: object, *args: object) -> object:
        if not getattr(self.store, "blocking", True):
            return func(*args)  # type: ignore[operator]
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(func, *args),  # type: ignore[arg-type]
                self.timeout,
            )
        except TimeoutError:
            raise SecretStoreError(
                f"The keyring did not answer within {self.timeout:g} s while trying to "
                f"{what}. If it shows an unlock prompt, answer it and try again."
            ) from None

    async def get(self, key: str) -> str | None:
        """Return the secret under ``key``, or ``None``.

        Raises:
            SecretStoreError: The store failed or did not answer in time.
        """
        value = await self._call("read a secret", self.store.get, key)
        return value if isinstance(value, str) else None

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``.

        Raises:
            SecretStoreError: The store failed or did not answer in time.
        """
        await self._call("store a secret", self.store.set, key, value)

    async def delete(self, key: str) -> None:
        """Remove ``key``.

        Raises:
            SecretStoreError: The store failed or did not answer in time.
        """
        await self._call("delete a secret", self.store.delete, key)

    async def check(self) -> None:
        """Find out whether the store works (see :meth:`KeyringSecretStore.check`).

        Raises:
            SecretStoreError: It does not, or did not answer in time.
        """
        await self._call("check the keyring", self.store.check, self.timeout)


def _check_main(argv: list[str]) -> int:
    """The child-process side of :meth:`KeyringSecretStore.check`."""
    try:
        KeyringSecretStore(argv[0] if argv else None).get(PROBE_KEY)
    except SecretStoreError as err:
        print(err.message)
        return _PROBE_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(_check_main(sys.argv[1:]))

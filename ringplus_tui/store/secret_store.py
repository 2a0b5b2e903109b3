"""Where secrets live: the OS keyring, or memory for the sandbox demo.

Each secret is its own entry under the service name ``ringplus-tui``, so no entry
grows past a backend's size limit and one failed write never mixes old and new
values of another secret. Entry names (the keyring's "username")::

    app:<app name>:client_secret
    account:<account name>:access_token
    account:<account name>:refresh_token
    account:<account name>:pending        (a started sign-in: state, code_verifier; 10 min)

The stores here are synchronous, as :mod:`keyring` is. Every call that may block
runs on a daemon thread of its own and is waited for at most :data:`KEYRING_TIMEOUT`
seconds: :class:`SecretVault` for async code, :func:`call_bounded` for the
``token`` command's fast path. A keyring that waits for an unlock prompt nobody sees
(or a Secret Service that stopped answering on D-Bus) therefore never freezes the UI
and never keeps a command from exiting: the thread it blocks is a daemon, which
interpreter shutdown does not wait for. Writes still running can be waited for
before exiting (:func:`wait_for_writes`), so a token already received is stored
whenever the keyring answers. This module knows nothing of HTTP or Textual.

``python -m ringplus_tui.store.secret_store SERVICE`` is the keyring check that
:meth:`KeyringSecretStore.check` runs in a child process: it exits 0 when the
keyring answers, or prints what is wrong and exits 3.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from ringplus_tui.core.errors import SecretStoreError

SERVICE_NAME = "ringplus-tui"
ENV_SERVICE = "RINGPLUS_TUI_KEYRING_SERVICE"
"""Environment variable that overrides the keyring service name (e.g. a second profile)."""
ENV_TIMEOUT = "RINGPLUS_TUI_KEYRING_TIMEOUT"
"""Environment variable with the keyring timeout in seconds (a positive number), e.g.
longer for a slow unlock prompt, or short in tests."""
DEFAULT_KEYRING_TIMEOUT = 20.0
"""Seconds to wait for one keyring call when :data:`ENV_TIMEOUT` is not set."""


def _timeout_from_environment() -> float:
    raw = os.environ.get(ENV_TIMEOUT, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_KEYRING_TIMEOUT
    if not math.isfinite(value) or value <= 0:
        return DEFAULT_KEYRING_TIMEOUT
    return value


KEYRING_TIMEOUT = _timeout_from_environment()
"""Seconds to wait for one keyring call before reporting that it did not answer:
``$RINGPLUS_TUI_KEYRING_TIMEOUT`` when it holds a positive number, else 20."""
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


class KeyringTimeoutError(SecretStoreError):
    """The keyring did not answer within the keyring timeout; its call may still be
    running on a daemon thread."""


def timeout_message(timeout: float, what: str) -> str:
    """The words for a keyring that did not answer within ``timeout`` seconds while
    trying to ``what`` (e.g. ``read a secret``)."""
    return (
        f"The keyring did not answer within {timeout:g} s while trying to {what}. "
        "If it shows an unlock prompt, answer it and try again."
    )


T = TypeVar("T")


class _Call:
    """One blocking call on a daemon thread of its own, with its outcome."""

    def __init__(self, func: Callable[..., object], args: tuple[object, ...], *, write: bool):
        self.func = func
        self.args = args
        self.write = write
        self.done = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None
        self.on_done: Callable[[], None] | None = None

    def start(self, on_done: Callable[[], None] | None = None) -> None:
        self.on_done = on_done
        with _RUNNING_LOCK:
            _RUNNING.add(self)
        threading.Thread(target=self._run, name="ringplus-tui keyring call", daemon=True).start()

    def _run(self) -> None:
        try:
            self.result = self.func(*self.args)
        except BaseException as err:  # handed to the caller, who re-raises it
            self.error = err
        finally:
            with _RUNNING_LOCK:
                _RUNNING.discard(self)
            self.done.set()
            if self.on_done is not None:
                self.on_done()

    def outcome(self) -> object:
        if self.error is not None:
            raise self.error
        return self.result


_RUNNING: set[_Call] = set()
"""Store calls whose thread has not finished, timed out or not."""
_RUNNING_LOCK = threading.Lock()


def call_bounded(
    what: str, func: Callable[..., T], *args: object, timeout: float, write: bool = False
) -> T:
    """``func(*args)`` on a daemon thread, waited for at most ``timeout`` seconds.

    Args:
        what: What the call does, for the message (``read a secret``).
        func: A blocking store method.
        timeout: Seconds to wait.
        write: It changes the store (see :func:`wait_for_writes`).

    Raises:
        KeyringTimeoutError: No answer within ``timeout``; the thread keeps running
            and never delays the process's exit.
        SecretStoreError: What ``func`` raised.
    """
    call = _Call(func, args, write=write)
    call.start()
    if not call.done.wait(timeout):
        raise KeyringTimeoutError(timeout_message(timeout, what))
    return call.outcome()  # type: ignore[return-value]


def calls_in_flight() -> bool:
    """Whether a store call (one that timed out, say) is still blocked on its thread."""
    with _RUNNING_LOCK:
        return bool(_RUNNING)


def writes_in_flight() -> bool:
    """Whether a store write or delete is still running on its thread."""
    with _RUNNING_LOCK:
        return any(call.write for call in _RUNNING)


def wait_for_writes(timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for the store writes still running.

    Returns:
        Whether none is left running.
    """
    deadline = time.monotonic() + timeout
    with _RUNNING_LOCK:
        writes = [call for call in _RUNNING if call.write]
    return all(call.done.wait(max(0.0, deadline - time.monotonic())) for call in writes)


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

    Each call of a blocking store runs on a daemon thread of its own (see the module
    docstring), so a call that never returns costs a parked thread, never a hang at
    exit.

    Args:
        store: The blocking store.
        timeout: Seconds to wait for one call (default :data:`KEYRING_TIMEOUT`).
    """

    def __init__(self, store: SecretStore, *, timeout: float = KEYRING_TIMEOUT) -> None:
        self.store = store
        self.timeout = timeout

    async def _call(
        self, what: str, func: Callable[..., object], *args: object, write: bool = False
    ) -> object:
        if not getattr(self.store, "blocking", True):
            return func(*args)
        loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()

        def settle() -> None:
            if not answered.done():
                answered.set_result(None)

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed while it blocked
                loop.call_soon_threadsafe(settle)

        call = _Call(func, args, write=write)
        call.start(wake)
        try:
            await asyncio.wait_for(answered, self.timeout)
        except TimeoutError:
            raise KeyringTimeoutError(timeout_message(self.timeout, what)) from None
        return call.outcome()

    async def get(self, key: str) -> str | None:
        """Return the secret under ``key``, or ``None``.

        Raises:
            KeyringTimeoutError: The store did not answer in time.
            SecretStoreError: The store failed.
        """
        value = await self._call("read a secret", self.store.get, key)
        return value if isinstance(value, str) else None

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``.

        Raises:
            KeyringTimeoutError: The store did not answer in time.
            SecretStoreError: The store failed.
        """
        await self._call("store a secret", self.store.set, key, value, write=True)

    async def delete(self, key: str) -> None:
        """Remove ``key``.

        Raises:
            KeyringTimeoutError: The store did not answer in time.
            SecretStoreError: The store failed.
        """
        await self._call("delete a secret", self.store.delete, key, write=True)

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

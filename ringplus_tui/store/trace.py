"""The ``--debug FILE`` trace: one line per HTTP exchange and keyring call, no secret.

A person who hits a problem runs the command (or the dashboard) with ``--debug
FILE`` and can attach the file to a report. Each line is::

    2026-01-31T12:00:00.123Z http POST https://id.example/oauth/token -> 200 (0.214 s)
    2026-01-31T12:00:00.340Z keyring set account:alice:refresh_token -> ok (0.012 s)

Bodies and headers are never written; keyring values are never written, only the
operation and the entry's name. Every value read from or written to the secret
store, and every secret a request carried, becomes a known secret: each line is
passed through :func:`~ringplus_tui.core.safe_text.redact` with all of them (and
through :func:`~ringplus_tui.core.safe_text.safe_text`) before it is written. The
file is created with mode 0600 whatever the umask, and never through a symbolic
link.

One trace is active per process (:func:`start`, :func:`active`); without one,
:func:`traced` returns the store unchanged and nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.safe_text import redact, safe_text

if TYPE_CHECKING:
    from .secret_store import SecretStore

__all__ = ["Trace", "TraceError", "TracedSecretStore", "active", "start", "stop", "traced"]

FILE_MODE = 0o600
"""The trace file's mode: readable and writable by its owner only."""
LINE_LIMIT = 2000
"""Characters of one trace line written at most."""


class TraceError(RingPlusError):
    """The trace file cannot be created or written."""

    def __init__(self, message: str) -> None:
        super().__init__(message, title="Debug trace")


class Trace:
    """An open trace file that redacts every known secret from what it writes.

    Thread-safe: keyring calls run on worker threads.

    Args:
        path: The file to write; created (mode 0600) or emptied.

    Raises:
        TraceError: It cannot be opened (a directory, a symbolic link, no permission).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(path, flags, FILE_MODE)
        except OSError as err:
            raise TraceError(
                f"Cannot write the debug trace to {safe_text(str(path), limit=200)}: "
                f"{safe_text(err.strerror or err, limit=100)}."
            ) from None
        with contextlib.suppress(OSError):  # an existing file keeps its mode otherwise
            os.fchmod(fd, FILE_MODE)
        self._file = os.fdopen(fd, "w", encoding="utf-8", buffering=1)

    def know(self, secrets: Iterable[str | None]) -> None:
        """Add secret values to those redacted from every later line (and never written)."""
        with self._lock:
            self._secrets.update(value for value in secrets if value)

    def write(self, kind: str, text: str) -> None:
        """Write one line ``TIMESTAMP KIND TEXT``, secrets redacted; never raises."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with self._lock:
            if self._file.closed:
                return
            line = safe_text(redact(f"{kind} {text}", self._secrets), limit=LINE_LIMIT)
            with contextlib.suppress(OSError, ValueError):
                self._file.write(f"{stamp} {line}\n")

    def close(self) -> None:
        """Close the file; later lines are dropped."""
        with self._lock, contextlib.suppress(OSError):
            self._file.close()


_active: Trace | None = None


def start(path: Path) -> Trace:
    """Open the trace at ``path`` and make it this process's active trace.

    Raises:
        TraceError: The file cannot be opened.
    """
    global _active
    stop()
    _active = Trace(path)
    _active.write("start", f"ringplus-tui trace, pid {os.getpid()}")
    return _active


def stop() -> None:
    """Close the active trace, if any."""
    global _active
    if _active is not None:
        _active.close()
    _active = None


def active() -> Trace | None:
    """The active trace, or ``None`` when ``--debug`` was not given."""
    return _active


@contextlib.contextmanager
def timed(trace: Trace, kind: str, what: str) -> Iterator[None]:
    """Write ``KIND WHAT -> ok (S s)`` after the block, or ``-> ErrorName`` when it
    raises (the error passes through). Durations in seconds."""
    began = time.monotonic()
    try:
        yield
    except BaseException as err:
        trace.write(kind, f"{what} -> {type(err).__name__} ({time.monotonic() - began:.3f} s)")
        raise
    trace.write(kind, f"{what} -> ok ({time.monotonic() - began:.3f} s)")


class TracedSecretStore:
    """A secret store that writes each call to the trace: the operation and the entry's
    name, never the value (the value becomes a known secret of the trace).

    Args:
        store: The store every call goes to.
        trace: Where calls are written.
    """

    def __init__(self, store: SecretStore, trace: Trace) -> None:
        self.store = store
        self.trace = trace
        self.description: str = store.description
        self.blocking: bool = getattr(store, "blocking", True)

    def get(self, key: str) -> str | None:
        """The store's ``get``, traced as ``keyring get KEY -> found|missing``."""
        began = time.monotonic()
        try:
            value = self.store.get(key)
        except BaseException as err:
            self.trace.write("keyring", f"get {key} -> {type(err).__name__}")
            raise
        self.trace.know([value])
        found = "found" if value else "missing"
        self.trace.write("keyring", f"get {key} -> {found} ({time.monotonic() - began:.3f} s)")
        return value

    def set(self, key: str, value: str) -> None:
        """The store's ``set``, traced as ``keyring set KEY``."""
        self.trace.know([value])
        with timed(self.trace, "keyring", f"set {key}"):
            self.store.set(key, value)

    def delete(self, key: str) -> None:
        """The store's ``delete``, traced as ``keyring delete KEY``."""
        with timed(self.trace, "keyring", f"delete {key}"):
            self.store.delete(key)

    def check(self, timeout: float) -> None:
        """The store's ``check`` (``timeout`` in seconds), traced."""
        with timed(self.trace, "keyring", "check"):
            self.store.check(timeout)

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)


def traced(store: SecretStore) -> SecretStore:
    """``store`` wrapped in :class:`TracedSecretStore` when a trace is active, else
    ``store`` itself."""
    trace = active()
    return store if trace is None else TracedSecretStore(store, trace)

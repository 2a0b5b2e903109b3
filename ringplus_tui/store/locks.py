"""Cross-process locks: one refresh per account at a time, whichever process runs it.

A lock file per account, polled without blocking so the event loop never waits on
it. On POSIX this is ``flock(2)`` on the file, the same lock ``filelock`` takes
there, called directly because a refresh-all over hundreds of accounts takes
hundreds of locks and ``filelock``'s bookkeeping cost a third of a millisecond
each; elsewhere ``filelock`` itself. No Textual, no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from ringplus_tui.core.errors import RingPlusError, SettingsFileError

from .files import make_private_dir

LOCK_WAIT = 60.0
"""Seconds to wait for another process's refresh of the same account."""

POLL = 0.05
"""Seconds between attempts while another process holds the lock."""

_MADE: set[Path] = set()
"""Lock directories already created by this process."""


def _busy(name: str, wait: float) -> RingPlusError:
    return RingPlusError(
        f"Another ringplus-tui process has been refreshing '{name}' for over "
        f"{wait:g} s. Try again; if it persists, close the other process.",
        title="Account busy",
    )


def _posix_lock(path: Path) -> tuple[Callable[[], bool], Callable[[], None]]:
    import fcntl

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)  # whatever the umask

    def try_acquire() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release() -> None:
        os.close(fd)  # closing the file releases its lock

    return try_acquire, release


def _portable_lock(path: Path) -> tuple[Callable[[], bool], Callable[[], None]]:
    import filelock

    lock = filelock.FileLock(path, thread_local=False)

    def try_acquire() -> bool:
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            return False
        return True

    return try_acquire, lock.release


def _lock_problem(path: Path, err: OSError) -> str:
    if err.errno == errno.ELOOP or path.is_symlink():
        return (
            f"{path} is a symbolic link, and ringplus-tui does not follow links for its "
            f"lock files. It holds nothing: remove it (rm '{path}') and try again."
        )
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (
            f"Cannot create the account lock {path}: {err.strerror}. Refreshing and "
            "signing in need a writable settings directory: make it writable "
            f"(chmod u+w '{path.parent.parent}'), or use another one with --config-dir. "
            "Nothing was changed."
        )
    return f"Cannot use the account lock {path}: {err.strerror}. Nothing was changed."


@contextlib.asynccontextmanager
async def account_lock(path: Path, name: str, *, wait: float = LOCK_WAIT) -> AsyncIterator[None]:
    """Hold the lock file at ``path`` for the account ``name``.

    Args:
        path: The lock file (its directory is created, mode 0700).
        name: The account, for the message.
        wait: Seconds to wait for another holder.

    Raises:
        RingPlusError: Another process held it for longer than ``wait``.
        SettingsFileError: The lock file or its directory cannot be created or opened
            (a read-only settings directory, a symbolic link in its place).
    """
    try:
        if path.parent not in _MADE:
            await asyncio.to_thread(make_private_dir, path.parent)
            _MADE.add(path.parent)
        try_acquire, release = (_posix_lock if os.name == "posix" else _portable_lock)(path)
    except OSError as err:
        raise SettingsFileError(_lock_problem(path, err), title="Settings not writable") from err
    deadline = time.monotonic() + wait
    try:
        while not try_acquire():  # non-blocking: the event loop never waits here
            if time.monotonic() > deadline:
                raise _busy(name, wait)
            await asyncio.sleep(POLL)
    except BaseException:
        release()
        raise
    try:
        yield
    finally:
        release()

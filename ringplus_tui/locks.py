"""Cross-process locks: one refresh per account at a time, whichever process runs it.

A lock file per account (``filelock``), polled without blocking so the event
loop never waits on it. No Textual, no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import filelock

from .errors import RingPlusError

LOCK_WAIT = 60.0
"""Seconds to wait for another process's refresh of the same account."""


@contextlib.asynccontextmanager
async def account_lock(path: Path, name: str, *, wait: float = LOCK_WAIT) -> AsyncIterator[None]:
    """Hold the lock file at ``path`` for the account ``name``.

    Args:
        path: The lock file (its directory is created, mode 0700).
        name: The account, for the message.
        wait: Seconds to wait for another holder.

    Raises:
        RingPlusError: Another process held it for longer than ``wait``.
    """
    await asyncio.to_thread(path.parent.mkdir, mode=0o700, parents=True, exist_ok=True)
    lock = filelock.FileLock(path, thread_local=False)
    deadline = time.monotonic() + wait
    while True:
        try:
            lock.acquire(timeout=0)  # non-blocking: the event loop never waits here
            break
        except filelock.Timeout:
            if time.monotonic() > deadline:
                raise RingPlusError(
                    f"Another ringplus-tui process has been refreshing '{name}' for over "
                    f"{wait:g} s. Try again; if it persists, close the other process.",
                    title="Account busy",
                ) from None
            await asyncio.sleep(0.05)
    try:
        yield
    finally:
        lock.release()

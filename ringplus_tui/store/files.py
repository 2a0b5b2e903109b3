"""Private directories and atomic file writes.

A write goes to a temporary file in the same directory, is flushed and
``fsync``-ed, made mode 0600 and renamed over the target with ``os.replace``, so
a reader (or a crash) sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

Signature = tuple[int, int, int]
"""A file's inode, size and modification time (ns): cheap to take, changes on any write."""


def file_signature(path: Path) -> Signature | None:
    """``path``'s :data:`Signature`, or ``None`` when it cannot be stat-ed (e.g. missing)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and its parents) mode 0700 if it is missing.

    Raises:
        OSError: It cannot be created.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomically(path: Path, data: bytes) -> Signature:
    """Replace ``path`` with ``data`` atomically; the new file is mode 0600.

    Returns:
        The new file's :data:`Signature` (the rename keeps inode, size and mtime).

    Raises:
        OSError: The directory or file cannot be written; ``path`` is then
            unchanged and no temporary file is left behind.
    """
    make_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            st = os.fstat(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return (st.st_ino, st.st_size, st.st_mtime_ns)

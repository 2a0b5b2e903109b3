"""Private directories and files: created 0700 / 0600, checked before use, written atomically.

A write goes to a temporary file in the same directory, is flushed and
``fsync``-ed, made mode 0600 and renamed over the target with ``os.replace``, so
a reader (or a crash) sees the old file or the new one, never half of one. A
target that is a symbolic link is written through the link (the link stays).

A directory or file that another user owns, or that others can write, is refused
(:func:`check_private`): whoever can change the settings can send the tokens to a
server of their choosing. Group write is allowed only for the user's own private
group (the umask 002 convention of Debian and Ubuntu).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ringplus_tui.core.errors import SettingsFileError

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
    """Create ``directory`` and any missing parents mode 0700, whatever the umask.

    Raises:
        OSError: It cannot be created.
    """
    missing: list[Path] = []
    here = directory
    while not here.exists() and here != here.parent:
        missing.append(here)
        here = here.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=0o700)
        except FileExistsError:
            continue  # made meanwhile by another process: checked when used
        os.chmod(path, 0o700)


def _private_group(gid: int) -> bool:
    """Whether ``gid`` is the user's private group: their primary group, named as they are,
    with no other members."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    others = [member for member in group.gr_mem if member != user.pw_name]
    return gid == user.pw_gid and group.gr_name == user.pw_name and not others


def check_private(path: Path, what: str) -> None:
    """Refuse ``path`` (followed through links) if another user owns it or others can write it.

    A missing path passes. Does nothing where files have no owners (Windows).

    Args:
        path: A directory or file.
        what: What it is, for the message ("The settings directory").

    Raises:
        ConfigError: Owned by another user, writable by others, or writable by a
            group that is not the user's private group; the message says how to fix it.
    """
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return
    try:
        st = path.stat()
    except OSError:
        return
    uid = getuid()
    risk = (
        "Anyone who can change it can send your tokens and client secrets to a server "
        "of their choosing, so ringplus-tui does not use it."
    )
    if st.st_uid != uid:
        owner = _user_name(st.st_uid)
        raise SettingsFileError(
            f"{what} {path} belongs to another user ({owner}). {risk} If it is yours, "
            f"run: chown {_user_name(uid)} '{path}'; otherwise use another directory "
            "(--config-dir).",
            title="Settings not private",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & stat.S_IWOTH:
        raise SettingsFileError(
            f"{what} {path} can be changed by every user on this machine. {risk} "
            f"Run: chmod o-w '{path}' (or chmod {_private_mode(st)} '{path}').",
            title="Settings not private",
        )
    if mode & stat.S_IWGRP and not _private_group(st.st_gid):
        raise SettingsFileError(
            f"{what} {path} can be changed by the members of the group "
            f"'{_group_name(st.st_gid)}'. {risk} Run: chmod g-w '{path}' "
            f"(or chmod {_private_mode(st)} '{path}').",
            title="Settings not private",
        )


def _private_mode(st: os.stat_result) -> str:
    return "700" if stat.S_ISDIR(st.st_mode) else "600"


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _group_name(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return f"gid {gid}"


def write_atomically(path: Path, data: bytes) -> Signature:
    """Replace ``path`` with ``data`` atomically; the new file is mode 0600.

    A ``path`` that is a symbolic link is written through: its target is replaced
    and the link stays.

    Returns:
        The new file's :data:`Signature` (the rename keeps inode, size and mtime).

    Raises:
        OSError: The directory or file cannot be written; ``path`` is then
            unchanged and no temporary file is left behind.
    """
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    make_private_dir(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            st = os.fstat(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return (st.st_ino, st.st_size, st.st_mtime_ns)

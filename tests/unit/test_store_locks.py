"""Account locks: private whatever the umask, and a message instead of a traceback."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ringplus_tui.core.errors import SettingsFileError
from ringplus_tui.store.locks import account_lock


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_lock_is_private_whatever_the_umask(tmp_path: Path) -> None:
    lock = tmp_path / "profile" / "locks" / "alice.lock"
    old = os.umask(0)
    try:
        async with account_lock(lock, "alice"):
            pass
    finally:
        os.umask(old)
    assert _mode(lock.parent) == 0o700
    assert _mode(tmp_path / "profile") == 0o700
    assert _mode(lock) == 0o600


async def test_a_symlinked_lock_is_refused_with_a_message(tmp_path: Path) -> None:
    lock = tmp_path / "locks" / "alice.lock"
    lock.parent.mkdir()
    target = tmp_path / "elsewhere"
    lock.symlink_to(target)
    with pytest.raises(SettingsFileError, match="is a symbolic link") as caught:
        async with account_lock(lock, "alice"):
            pass
    assert f"rm '{lock}'" in caught.value.message
    assert not target.exists()


async def test_a_lock_directory_that_cannot_be_made_is_refused_with_a_message(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "profile"
    blocker.write_text("not a directory")  # as root, a read-only directory would not stop us
    with pytest.raises(SettingsFileError, match="Nothing was changed"):
        async with account_lock(blocker / "locks" / "alice.lock", "alice"):
            pass

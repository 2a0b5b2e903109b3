"""The settings files on a hostile or unusual file system: messages, never tracebacks.

Read-only directories and symlinked lock files are reported with what to do; a
symlinked ``config.toml`` is written through its link; directories and files are
created private whatever the umask, and ones another user could have changed are
refused, saying how to fix them.
"""

from __future__ import annotations

import errno
import grp
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import filelock
import pytest

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import Account, AppConfig
from ringplus_tui.store.settings import Settings, SettingsStore

COMMAND = str(Path(sys.executable).with_name("ringplus-tui"))
APP = AppConfig(name="work", client_id="abc", redirect_uri="https://example.org/cb")
SETTINGS = Settings(
    apps={"work": APP},
    accounts={"alice": Account(name="alice", app="work", expires_at=2000.0, obtained_at=1.0)},
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RINGPLUS_TUI_HOME": str(home)}
    return subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    store = SettingsStore(tmp_path / "profile")
    store.save(SETTINGS)
    return store.directory


# -- read-only directories and symlinked lock files (issue 16, item 9) ---------------------


def test_a_symlinked_lock_file_is_refused_with_a_message(profile: Path, tmp_path: Path) -> None:
    (profile / ".config.lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="is a symbolic link") as caught:
        SettingsStore(profile).update(lambda s: s.without_account("alice"))
    assert f"rm '{profile / '.config.lock'}'" in caught.value.message
    assert not (tmp_path / "elsewhere").exists()
    assert SettingsStore(profile).load() == SETTINGS  # nothing changed

    result = run_cli(profile, "account", "add", "bob", "--app", "work")
    assert result.returncode == 1  # the files need fixing, not the command
    assert "is a symbolic link" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_read_only_settings_directory_says_what_to_do(
    profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(self: filelock.BaseFileLock, *args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, "Read-only file system", str(self.lock_file))

    monkeypatch.setattr(filelock.FileLock, "acquire", read_only)
    with pytest.raises(ConfigError, match="needs a writable settings directory") as caught:
        SettingsStore(profile).update(lambda s: s.without_account("alice"))
    assert f"chmod u+w '{profile}'" in caught.value.message
    assert SettingsStore(profile).load() == SETTINGS


def test_a_lock_file_that_is_not_a_file_gives_a_message(profile: Path) -> None:
    (profile / ".config.lock").mkdir()
    with pytest.raises(ConfigError, match="Cannot use the lock file"):
        SettingsStore(profile).update(lambda s: s.without_account("alice"))
    result = run_cli(profile, "account", "add", "bob", "--app", "work")
    assert result.returncode == 1 and "Traceback" not in result.stderr


def test_a_symlinked_config_toml_is_written_through_its_link(tmp_path: Path) -> None:
    """Settings kept elsewhere (a dotfiles repository) and linked in stay linked."""
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "ringplus.toml"
    real.write_text("# kept in my dotfiles\n")
    profile = tmp_path / "profile"
    profile.mkdir(mode=0o700)
    (profile / "config.toml").symlink_to(real)

    store = SettingsStore(profile)
    store.update(lambda s: s.with_app(APP))
    store.update(lambda s: s.with_account(Account(name="alice", app="work", expires_at=5.0)))

    assert (profile / "config.toml").is_symlink()
    assert real.read_text().startswith("# kept in my dotfiles\n")
    assert "[apps.work]" in real.read_text()
    assert not list(profile.glob(".config-*.tmp")) and not list(dotfiles.glob(".*.tmp"))
    assert SettingsStore(profile).load().accounts["alice"].expires_at == 5.0


# -- private modes and ownership (issue 15, item 5) -----------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_everything_is_created_private_whatever_the_umask(tmp_path: Path, open_umask) -> None:
    directory = tmp_path / "new" / "parents" / "profile"
    store = SettingsStore(directory, state_file=tmp_path / "state-home" / "deep" / "state.json")
    store.update(lambda s: SETTINGS)
    for made in (directory, directory.parent, directory.parent.parent, store.state_path.parent):
        assert mode(made) == 0o700, made
    for made in (store.path, store.state_path, store.lock_path):
        assert mode(made) == 0o600, made


def test_a_directory_others_can_write_is_refused_saying_how_to_fix_it(profile: Path) -> None:
    profile.chmod(0o777)
    with pytest.raises(ConfigError, match="can be changed by every user") as caught:
        SettingsStore(profile).load()
    assert f"chmod o-w '{profile}'" in caught.value.message

    result = run_cli(profile, "token", "alice")
    assert result.returncode == 1  # the files need fixing, not the command
    assert "chmod o-w" in result.stderr and "Traceback" not in result.stderr
    profile.chmod(0o700)
    assert SettingsStore(profile).load() == SETTINGS


def test_a_settings_file_others_can_write_is_refused(profile: Path) -> None:
    (profile / "config.toml").chmod(0o666)
    with pytest.raises(ConfigError, match="can be changed by every user"):
        SettingsStore(profile).load()


def test_a_state_file_others_can_write_is_refused(profile: Path) -> None:
    (profile / "state.json").chmod(0o646)
    with pytest.raises(ConfigError, match="state file"):
        SettingsStore(profile).load()


@pytest.mark.skipif(os.getuid() != 0, reason="giving a file to another user needs root")
def test_a_settings_file_owned_by_another_user_is_refused(profile: Path) -> None:
    os.chown(profile / "config.toml", 65534, -1)
    with pytest.raises(ConfigError, match="belongs to another user") as caught:
        SettingsStore(profile).load()
    assert "chown" in caught.value.message


def _group_not_mine() -> int | None:
    me = os.getuid()
    import pwd

    user = pwd.getpwuid(me)
    for group in grp.getgrall():
        if group.gr_gid != user.pw_gid and group.gr_name != user.pw_name:
            return group.gr_gid
    return None


def test_group_write_is_refused_unless_the_group_is_the_users_own(profile: Path) -> None:
    import pwd

    user = pwd.getpwuid(os.getuid())
    own = grp.getgrgid(user.pw_gid)
    profile.chmod(0o770)
    if own.gr_name == user.pw_name and not [m for m in own.gr_mem if m != user.pw_name]:
        os.chown(profile, -1, user.pw_gid)
        assert SettingsStore(profile).load() == SETTINGS  # the umask 002 convention
    other = _group_not_mine()
    if other is None or os.getuid() != 0:
        pytest.skip("no other group to give the directory to")
    os.chown(profile, -1, other)
    with pytest.raises(ConfigError, match="members of the group") as caught:
        SettingsStore(profile).load()
    assert f"chmod g-w '{profile}'" in caught.value.message

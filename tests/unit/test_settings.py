"""The settings store: round trip, atomic writes, permissions and clear messages for bad files."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import RINGPLUS, Account, AppConfig, Provider
from ringplus_tui.store.settings import ENV_HOME, Settings, SettingsStore, default_config_dir

APP = AppConfig(
    name="work", client_id="abc", redirect_uri="https://example.org/cb", scopes=("read",)
)
CUSTOM = AppConfig(
    name='other.provider "quoted" ünïcode',
    client_id="id",
    redirect_uri="http://127.0.0.1:8080/cb",
    provider=Provider(
        name="custom",
        authorization_endpoint="https://auth.example/authorize",
        token_endpoint="https://auth.example/token",
        token_endpoint_auth_method="client_secret_post",
    ),
)


def test_round_trip_keeps_everything(tmp_path: Path) -> None:
    settings = Settings(
        apps={APP.name: APP, CUSTOM.name: CUSTOM},
        accounts={
            "alice": Account(name="alice", app="work", expires_at=1.5, obtained_at=0.5),
            "12345": Account(name="12345", app=CUSTOM.name),
        },
    )
    store = SettingsStore(tmp_path / "cfg")
    store.save(settings)
    loaded = store.load()
    assert loaded == settings
    assert loaded.apps["work"].provider == RINGPLUS


def test_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "cfg")
    store.save(Settings(apps={APP.name: APP}))
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700


@pytest.mark.parametrize("content", [None, b"", b"\xef\xbb\xbf"])
def test_missing_empty_or_bom_only_file_is_empty_settings(tmp_path: Path, content) -> None:
    store = SettingsStore(tmp_path)
    if content is not None:
        store.path.write_bytes(content)
    assert store.load() == Settings()


def test_invalid_toml_names_file_line_and_column(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text('[apps.work]\nclient_id = "abc\n')
    with pytest.raises(ConfigError) as caught:
        store.load()
    assert str(store.path) in caught.value.message
    assert "line 2" in caught.value.message


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text(
        '[apps.work]\nprovider = "ringplus"\nclient_id = "a"\nredirct_uri = "https://x/cb"\n'
    )
    with pytest.raises(ConfigError, match="Did you mean 'redirect_uri'"):
        store.load()


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.path.write_text('[accounts.a]\napp = "work"\nexpires_at = "tomorrow"\n')
    with pytest.raises(ConfigError, match="expires_at must be UTC epoch seconds"):
        store.load()


def test_a_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    store = SettingsStore(tmp_path)
    store.save(Settings(apps={APP.name: APP}))
    before = store.path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(ConfigError, match="Nothing was changed"):
        store.save(Settings())
    assert store.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temp file left


def test_killing_a_writer_never_leaves_a_truncated_file(tmp_path: Path) -> None:
    """A process killed in the middle of many saves leaves a complete old or new file."""
    store = SettingsStore(tmp_path)
    store.save(Settings(apps={APP.name: APP}))
    code = (
        "import sys; from pathlib import Path\n"
        "from ringplus_tui.store.settings import SettingsStore, Settings\n"
        "from ringplus_tui.core.models import AppConfig, Account\n"
        "store = SettingsStore(Path(sys.argv[1]))\n"
        "app = AppConfig(name='work', client_id='abc', redirect_uri='https://example.org/cb')\n"
        "accounts = {f'a{i}': Account(name=f'a{i}', app='work') for i in range(300)}\n"
        "print('ready', flush=True)\n"
        "while True: store.save(Settings(apps={'work': app}, accounts=accounts))\n"
    )
    for _ in range(5):
        writer = subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        writer.kill()
        writer.wait()
        loaded = store.load()
        assert "work" in loaded.apps
        assert len(loaded.accounts) in (0, 300)


def test_env_var_chooses_the_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "home"))
    assert default_config_dir() == tmp_path / "home"


def test_an_update_never_loses_a_change_made_since_its_last_write(tmp_path: Path) -> None:
    """One store writes, then another writer (another process, or a person's editor
    rewriting the file in place at the same size) changes it: the first store's next
    update starts from what is on disk, not from what it wrote."""
    ours, theirs = SettingsStore(tmp_path), SettingsStore(tmp_path)
    ours.update(
        lambda s: s.with_account(
            Account(name="alice", app="x", expires_at=1000.0, refresh_margin=1000.0)
        )
    )
    theirs.update(lambda s: s.with_account(Account(name="bob", app="x")))
    ours.update(lambda s: s.with_account(Account(name="carol", app="x")))
    assert set(SettingsStore(tmp_path).load().accounts) == {"alice", "bob", "carol"}

    # The setting a person edits lives in config.toml, the expiry in the state file:
    # an in-place edit of either one is seen.
    for path, key in (
        (tmp_path / "config.toml", "refresh_margin"),
        (ours.state_path, "expires_at"),
    ):
        text = path.read_text()
        assert f"{key} = 1000.0" in text or f'"{key}": 1000.0' in text
        time.sleep(0.05)  # file times tick in jiffies; an editor's save comes later than this
        with path.open("r+") as handle:  # same inode, same size: only the mtime moves
            handle.write(text.replace("1000.0", "2000.0"))
    ours.update(lambda s: s.with_account(Account(name="dave", app="x")))
    after = SettingsStore(tmp_path).load()
    assert after.accounts["alice"].expires_at == 2000.0
    assert after.accounts["alice"].refresh_margin == 2000.0
    assert set(after.accounts) == {"alice", "bob", "carol", "dave"}

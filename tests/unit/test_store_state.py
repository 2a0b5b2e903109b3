"""The state file: its place, its format version, its mode, and how bad ones are reported."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ringplus_tui.core.errors import ConfigError
from ringplus_tui.core.models import Account, AppConfig
from ringplus_tui.store.paths import platform_config_dir, platform_state_dir
from ringplus_tui.store.settings import Settings, SettingsStore, forgotten

APP = AppConfig(name="work", client_id="abc", redirect_uri="https://example.org/cb")
SIGNED_IN = Account(
    name="alice",
    app="work",
    expires_at=2000.0,
    obtained_at=1000.0,
    scope=("read",),
    token_type="Bearer",
    has_refresh_token=True,
    user="Alice",
    phone_lines=2,
    auto_refresh=False,
    refresh_margin=90.0,
)
SETTINGS = Settings(apps={"work": APP}, accounts={"alice": SIGNED_IN})


def test_the_state_file_is_0600_versioned_and_inside_a_profile_directory(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path / "profile")
    store.save(SETTINGS)
    assert store.state_path == tmp_path / "profile" / "state.json"
    assert stat.S_IMODE(store.state_path.stat().st_mode) == 0o600
    data = json.loads(store.state_path.read_text())
    assert data["format"] == 1
    assert data["accounts"]["alice"]["expires_at"] == 2000.0
    assert "auto_refresh" not in data["accounts"]["alice"]  # a setting: config.toml's
    assert "expires_at" not in store.path.read_text()
    assert SettingsStore(tmp_path / "profile").load() == SETTINGS


def test_the_default_profile_keeps_its_state_in_the_platform_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    store = SettingsStore(platform_config_dir())
    assert store.state_path == platform_state_dir() / "state.json"
    assert store.state_path.is_relative_to(tmp_path / "xdg-state")
    store.save(SETTINGS)
    assert stat.S_IMODE(store.state_path.parent.stat().st_mode) == 0o700
    assert not (platform_config_dir() / "state.json").exists()
    assert SettingsStore(platform_config_dir()).load() == SETTINGS


def test_a_state_only_change_leaves_config_toml_alone(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(SETTINGS)
    before = (store.path.read_bytes(), store.path.stat().st_mtime_ns)
    signature = store.signature()
    store.update(lambda s: s.with_account(Account(**{**vars(SIGNED_IN), "expires_at": 9e9})))
    assert (store.path.read_bytes(), store.path.stat().st_mtime_ns) == before
    assert store.signature() != signature  # another process sees the change
    assert SettingsStore(tmp_path).load().accounts["alice"].expires_at == 9e9


def test_forget_clears_what_was_learned_and_keeps_what_was_set() -> None:
    assert forgotten(SIGNED_IN) == Account(
        name="alice", app="work", auto_refresh=False, refresh_margin=90.0
    )


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "is not valid JSON"),
        (b'{"format": 2, "accounts": {}}', "has format 2"),
        (b'{"accounts": {}}', "has format None"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"format": 1, "accounts": {"alice": {"expires_at": "soon"}}}', "UTC epoch seconds"),
    ],
)
def test_a_bad_state_file_is_reported_and_never_overwritten(
    tmp_path: Path, content: bytes, words: str
) -> None:
    store = SettingsStore(tmp_path)
    store.save(SETTINGS)
    store.state_path.write_bytes(content)
    with pytest.raises(ConfigError, match=words) as caught:
        SettingsStore(tmp_path).load()
    assert str(store.state_path) in caught.value.message
    with pytest.raises(ConfigError):
        SettingsStore(tmp_path).update(lambda s: s.with_account(SIGNED_IN))
    assert store.state_path.read_bytes() == content


def test_a_failed_state_write_leaves_the_old_state_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SettingsStore(tmp_path)
    store.save(SETTINGS)
    before = store.state_path.read_bytes()

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(ConfigError, match="Nothing was changed"):
        store.save(SETTINGS.with_account(Account(**{**vars(SIGNED_IN), "expires_at": 1.0})))
    assert store.state_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "state.json"]


def test_removing_an_account_removes_its_state(tmp_path: Path) -> None:
    store = SettingsStore(tmp_path)
    store.save(SETTINGS)
    store.update(lambda s: s.without_account("alice"))
    assert json.loads(store.state_path.read_text())["accounts"] == {}
    store.update(lambda s: s.with_account(Account(name="alice", app="work")))
    assert not SettingsStore(tmp_path).load().accounts["alice"].signed_in

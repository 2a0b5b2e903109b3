"""A config.toml written before the state file existed migrates on first run, losing nothing.

``fixtures/config_before_state_file.toml`` was written by that version's
``SettingsStore.save`` (token metadata inside ``[accounts.*]``); ``EXPECTED`` is
exactly what it saved.
"""

from __future__ import annotations

import json
import stat
import tomllib
from pathlib import Path

import pytest

from ringplus_tui.core.models import RINGPLUS, Account, AppConfig, Provider
from ringplus_tui.store.schema import ACCOUNT_STATE_KEYS
from ringplus_tui.store.settings import Settings, SettingsStore

FIXTURE = Path(__file__).parent / "fixtures" / "config_before_state_file.toml"
IDP = 'idp "quoted" ünïcode'
EXPECTED = Settings(
    apps={
        "work": AppConfig(
            name="work",
            client_id="abc123",
            redirect_uri="https://example.org/callback",
            scopes=("read", "write"),
            provider=RINGPLUS,
            authorization_params=(("prompt", "consent"),),
        ),
        IDP: AppConfig(
            name=IDP,
            client_id="public-client",
            redirect_uri="http://127.0.0.1:8765/cb",
            scopes=("openid", "offline_access"),
            provider=Provider(
                name="custom",
                authorization_endpoint="https://id.example.org/authorize",
                token_endpoint="https://id.example.org/token",
                revocation_endpoint="https://id.example.org/revoke",
                api_base="https://api.example.org/v1",
                token_endpoint_auth_method="none",
                default_token_lifetime=1800.0,
                issuer="https://id.example.org",
                authorization_response_iss_parameter_supported=True,
                jwks_uri="https://id.example.org/jwks",
                token_placement="query",
            ),
        ),
    },
    accounts={
        "alice": Account(
            name="alice",
            app="work",
            expires_at=1764400000.5,
            obtained_at=1764313600.25,
            scope=("read", "write"),
            token_type="Bearer",
            has_refresh_token=True,
            last_refresh_at=1764313600.25,
            user="Alice Example",
            phone_lines=3,
        ),
        "bob": Account(
            name="bob",
            app="work",
            expires_at=1764300000.0,
            obtained_at=1764213600.0,
            scope=("read",),
            token_type="bearer",
            has_refresh_token=True,
            needs_sign_in=True,
            lifetime_assumed=True,
            auto_refresh=False,
            refresh_margin=120.0,
        ),
        "jane@example.org": Account(
            name="jane@example.org",
            app=IDP,
            expires_at=1764401800.0,
            obtained_at=1764400000.0,
            scope=("openid",),
            token_type="Bearer",
            has_refresh_token=False,
            subject="248289761001",
            email="jane@example.org",
            user="Jane Doe",
        ),
        "12345": Account(name="12345", app=IDP, refresh_margin=600.0),
    },
)
NOTE = "# Written by hand: the work app is the one from the RingPlus portal.\n"


@pytest.fixture
def old_profile(tmp_path: Path) -> Path:
    """A profile directory holding the old file, with a comment the person added since."""
    directory = tmp_path / "profile"
    directory.mkdir(mode=0o700)
    (directory / "config.toml").write_text(NOTE + FIXTURE.read_text())
    return directory


def test_the_old_file_migrates_with_nothing_lost(old_profile: Path) -> None:
    store = SettingsStore(old_profile)
    assert store.load() == EXPECTED

    text = store.path.read_text()
    assert text.startswith(NOTE)  # the person's comment stays
    data = tomllib.loads(text)
    for name, table in data["accounts"].items():
        assert not ACCOUNT_STATE_KEYS & set(table), name
    assert data["accounts"]["bob"] == {
        "app": "work",
        "refresh_margin": 120.0,
        "auto_refresh": False,
    }
    # What the person set at ``app add`` stays in config.toml, as it was.
    old_apps = FIXTURE.read_text().split("[accounts.")[0]
    assert old_apps in text

    state = json.loads(store.state_path.read_text())
    assert state["format"] == 1
    assert state["accounts"]["alice"]["expires_at"] == 1764400000.5
    assert stat.S_IMODE(store.state_path.stat().st_mode) == 0o600
    # A fresh process reads the same from the two files, and migrating again changes nothing.
    after = (store.path.read_bytes(), store.state_path.read_bytes())
    assert SettingsStore(old_profile).load() == EXPECTED
    assert (store.path.read_bytes(), store.state_path.read_bytes()) == after


def test_an_update_first_also_migrates_with_nothing_lost(old_profile: Path) -> None:
    store = SettingsStore(old_profile)
    store.update(lambda s: s.without_account("12345"))
    expected = EXPECTED.without_account("12345")
    assert SettingsStore(old_profile).load() == expected
    assert store.path.read_text().startswith(NOTE)
    assert "expires_at" not in store.path.read_text()


def test_when_the_state_file_cannot_be_written_nothing_moves(
    old_profile: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state directory that cannot be written: the metadata is read from config.toml,
    which stays as it was, and the next run that can write migrates."""
    import ringplus_tui.store.settings as front

    real = front.write_atomically

    def refuse_state(path: Path, data: bytes) -> tuple[int, int, int]:
        if path.name == "state.json":
            raise PermissionError(13, "Permission denied")
        return real(path, data)

    monkeypatch.setattr(front, "write_atomically", refuse_state)
    before = (old_profile / "config.toml").read_bytes()
    store = SettingsStore(old_profile)
    assert store.load() == EXPECTED
    assert (old_profile / "config.toml").read_bytes() == before
    assert not store.state_path.exists()

    monkeypatch.setattr(front, "write_atomically", real)
    assert SettingsStore(old_profile).load() == EXPECTED
    assert "expires_at" not in store.path.read_text()


def test_old_metadata_in_config_toml_wins_over_an_older_state_file(old_profile: Path) -> None:
    """An older version run after a newer one writes its metadata to config.toml again:
    that is the newest, so it replaces the state file's entry."""
    store = SettingsStore(old_profile)
    store.load()
    stale = EXPECTED.with_account(Account(name="alice", app="work", expires_at=1.0))
    store.save(stale)
    (old_profile / "config.toml").write_text(NOTE + FIXTURE.read_text())
    assert SettingsStore(old_profile).load() == EXPECTED


def test_a_token_key_added_by_hand_later_is_moved_without_losing_the_rest(
    old_profile: Path,
) -> None:
    """After the migration a person writes ``user = ...`` into an account's table: it
    moves to the state file and the account's other metadata stays."""
    store = SettingsStore(old_profile)
    store.load()
    with store.path.open("a") as handle:
        handle.write('\n[accounts.carol]\napp = "work"\n')
    text = store.path.read_text().replace(
        '[accounts.alice]\napp = "work"\n', '[accounts.alice]\napp = "work"\nuser = "Al"\n'
    )
    store.path.write_text(text)
    loaded = SettingsStore(old_profile).load()
    assert loaded.accounts["alice"] == Account(**{**vars(EXPECTED.accounts["alice"]), "user": "Al"})
    assert "user" not in tomllib.loads(store.path.read_text())["accounts"]["alice"]
    assert SettingsStore(old_profile).load() == loaded

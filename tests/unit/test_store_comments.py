"""A person's comments in config.toml survive what the program does on its own.

Sign-in, refresh and forget change only what the program learns, so they write the
state file and leave config.toml byte for byte; a change the person makes (an
account's options) rewrites only the changed key and keeps every comment.
"""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import MemorySecretStore
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.flows import browse, prepare, sign_in
from tests.helpers.notes import annotate, assert_notes_kept


@pytest.fixture
async def memory_service(config_dir: Path) -> AsyncIterator[OAuthService]:
    svc = OAuthService(SettingsStore(config_dir), MemorySecretStore())
    yield svc
    await svc.aclose()


async def test_sign_in_refresh_and_forget_leave_config_toml_untouched(
    memory_service: OAuthService, sandbox: Sandbox, config_dir: Path
) -> None:
    service = memory_service
    await prepare(service, sandbox)
    path = config_dir / "config.toml"
    before = annotate(path)
    await service.reload()
    mtime = path.stat().st_mtime_ns

    pending = await service.start_authorization("alice")
    signed_in = await service.complete_authorization(await browse(pending.authorization_url))
    assert signed_in.has_refresh_token and signed_in.user  # the profile was fetched too
    assert path.read_bytes() == before

    refreshed = await service.refresh("alice")
    assert refreshed.last_refresh_at is not None
    assert path.read_bytes() == before

    forgotten = await service.forget("alice")
    assert not forgotten.signed_in
    assert path.read_bytes() == before
    assert path.stat().st_mtime_ns == mtime  # not even rewritten with the same bytes
    assert SettingsStore(config_dir).load().accounts["alice"] == forgotten


async def test_a_change_the_person_makes_keeps_their_comments(
    memory_service: OAuthService, sandbox: Sandbox, config_dir: Path
) -> None:
    service = memory_service
    await sign_in(service, sandbox)
    path = config_dir / "config.toml"
    annotate(path)
    await service.reload()

    await service.set_auto_refresh("alice", False, 300.0)
    assert_notes_kept(path)
    table = tomllib.loads(path.read_text())["accounts"]["alice"]
    assert table == {"app": "sandbox", "auto_refresh": False, "refresh_margin": 300.0}

    await service.add_account("bob", "sandbox")
    assert_notes_kept(path)
    after = SettingsStore(config_dir).load()
    assert set(after.accounts) == {"alice", "bob"}
    assert after.accounts["alice"].has_refresh_token  # the token metadata is still there


async def test_a_refresh_writes_the_state_file_not_config_toml(
    memory_service: OAuthService, sandbox: Sandbox, config_dir: Path
) -> None:
    service = memory_service
    await sign_in(service, sandbox)
    store = SettingsStore(config_dir)
    config_before = (store.path.read_bytes(), store.path.stat().st_mtime_ns)
    state_before = store.state_path.read_bytes()

    refreshed = await service.refresh("alice")

    assert (store.path.read_bytes(), store.path.stat().st_mtime_ns) == config_before
    assert store.state_path.read_bytes() != state_before
    assert store.load().accounts["alice"].expires_at == refreshed.expires_at


def test_new_keys_and_tables_go_where_a_person_would_put_them(tmp_path: Path) -> None:
    """Comments stay above what they introduce; unchanged lines keep their comments."""
    from dataclasses import replace

    from ringplus_tui.core.models import Account, AppConfig

    path = tmp_path / "config.toml"
    path.write_text(
        "# top note\n\n"
        '[apps.work]  # the work app\nprovider = "ringplus"\n'
        'client_id = "abc"   # from the portal\nredirect_uri = "https://e.org/cb"\n'
        'token_placement = "header"   # said on purpose\n\n'
        "# people\n"
        '[accounts.alice]\napp = "work"  # the shared line\n\n'
        "# end note\n"
    )
    store = SettingsStore(tmp_path)
    store.update(lambda s: s.with_app(replace(s.apps["work"], scopes=("read",))))
    store.update(
        lambda s: s.with_app(AppConfig(name="home", client_id="h", redirect_uri="https://h/cb"))
    )
    store.update(lambda s: s.with_account(Account(name="bob", app="home", expires_at=3.0)))
    assert path.read_text() == (
        "# top note\n\n"
        '[apps.work]  # the work app\nprovider = "ringplus"\n'
        'client_id = "abc"   # from the portal\nredirect_uri = "https://e.org/cb"\n'
        'token_placement = "header"   # said on purpose\nscopes = ["read"]\n\n'
        '[apps.home]\nprovider = "ringplus"\nclient_id = "h"\nredirect_uri = "https://h/cb"\n'
        "scopes = []\n\n"
        "# people\n"
        '[accounts.alice]\napp = "work"  # the shared line\n\n'
        '[accounts.bob]\napp = "home"\n\n'
        "# end note\n"
    )
    assert SettingsStore(tmp_path).load().accounts["bob"].expires_at == 3.0

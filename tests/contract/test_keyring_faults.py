"""The catalogue, the keyring's part (entries 23-28 of shared bad-inputs.md): no keyring,
a hanging, locked, null or small backend, and the real keyring read back at start.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ringplus_tui.core.models import Account
from ringplus_tui.core.status import TokenStatus, token_status
from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.settings import SettingsStore
from tests.helpers import REPO_ROOT
from tests.helpers.bad_inputs import open_service
from tests.helpers.flows import sign_in
from tests.helpers.pilot_helpers import wait_for

# -- 23-28: the keyring ---------------------------------------------------------------------


@pytest.fixture
def use_keyring():
    """Swap keyring's active backend for one test, then put the real one back."""
    import keyring

    previous = keyring.get_keyring()
    try:
        yield keyring.set_keyring
    finally:
        keyring.set_keyring(previous)


def cli_env(config_dir: Path, **extra: str) -> dict[str, str]:
    import os

    return {**os.environ, "RINGPLUS_TUI_HOME": str(config_dir), **extra}


def run_cli(config_dir: Path, *args: str, stdin: str = "", **env: str):
    import subprocess
    import sys

    command = str(Path(sys.executable).with_name("ringplus-tui"))
    return subprocess.run(
        [command, *args], input=stdin, capture_output=True, text=True,
        env=cli_env(config_dir, **env), timeout=60,
    )  # fmt: skip


APP_ARGS = ("app", "add", "x", "--client-id", "c", "--redirect-uri", "https://example.org/cb")


def test_23_no_keyring_names_the_ways_out_and_writes_no_secret(config_dir: Path) -> None:
    result = run_cli(
        config_dir, *APP_ARGS, stdin="s3cret-value\n",
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )  # fmt: skip
    assert result.returncode == 1
    assert "No OS keyring is available" in result.stderr
    assert "gnome-keyring" in result.stderr and "keyrings.alt" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (config_dir / "config.toml").exists()  # nothing half-saved, no plain-file secret


async def test_23_the_app_starts_lists_accounts_and_says_the_keyring_is_missing(
    config_dir: Path, use_keyring
) -> None:
    from keyring.backends.fail import Keyring as FailKeyring

    from ringplus_tui.store.secret_store import KeyringSecretStore
    from ringplus_tui.tui.app import RingPlusApp

    SettingsStore(config_dir).save(
        SettingsStore(config_dir).load().with_account(Account(name="alice", app="x"))
    )
    use_keyring(FailKeyring())
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), KeyringSecretStore()))
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause(0.1)
        assert list(app.dashboard.rows) == ["alice"]  # the dashboard first, the probe after it
        await wait_for(
            pilot,
            lambda: any("No OS keyring is available" in n.message for n in app._notifications),
            seconds=3,
        )


# The app in a process of its own, as a person starts it: there the keyring check runs in
# a child process until a secret is needed (in this test process keyring is loaded, so
# the app checks in-process). Prints whether keyring got loaded, then the notifications.
APP_IN_ITS_OWN_PROCESS = """
import asyncio, sys
from pathlib import Path
from ringplus_tui.tui.app import RingPlusApp
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.settings import SettingsStore
from ringplus_tui.store.secret_store import KeyringSecretStore

async def main():
    service = OAuthService(
        SettingsStore(Path(sys.argv[1])), KeyringSecretStore(), keyring_timeout=float(sys.argv[2])
    )
    app = RingPlusApp(service)
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause(0.8)  # the check starts 0.5 s after start
        await app.workers.wait_for_complete()
        await pilot.pause()
        print("keyring loaded" if "keyring" in sys.modules else "keyring not loaded")
        print(list(app.dashboard.rows))
        for note in app._notifications:
            print(note.message)

asyncio.run(main())
"""


def run_app_process(config_dir: Path, timeout: float = 20, **env: str) -> str:
    import subprocess
    import sys

    SettingsStore(config_dir).save(
        SettingsStore(config_dir).load().with_account(Account(name="alice", app="x"))
    )
    done = subprocess.run(
        [sys.executable, "-c", APP_IN_ITS_OWN_PROCESS, str(config_dir), str(timeout)],
        capture_output=True, text=True, env=cli_env(config_dir, **env), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_23_a_missing_keyring_is_reported_at_start_without_loading_it_into_the_app(
    config_dir: Path,
) -> None:
    out = run_app_process(config_dir, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    assert "['alice']" in out  # the accounts are listed
    assert "No OS keyring is available" in out
    assert "keyring not loaded" in out  # checked in a child process


def test_27_a_hanging_keyring_check_at_start_is_reported_as_no_answer(config_dir: Path) -> None:
    out = run_app_process(
        config_dir,
        timeout=0.5,
        PYTHON_KEYRING_BACKEND="tests.helpers.fake_keyrings.HangingKeyring",
        PYTHONPATH=str(REPO_ROOT),
    )
    assert "did not answer within 0.5 s" in out
    assert "['alice']" in out


def test_a_working_keyring_is_checked_at_start_without_a_message(
    config_dir: Path, keyring_store
) -> None:
    out = run_app_process(config_dir)
    assert out.splitlines()[:2] == ["keyring not loaded", "['alice']"]
    assert len(out.splitlines()) == 2  # no notification


@pytest.mark.parametrize(
    ("backend", "words"),
    [
        ("keyring.backends.null.Keyring", "did not keep it"),
        ("does.not.Exist", "keyring"),
    ],
)
def test_24_a_null_or_misspelt_backend_gets_a_message(
    config_dir: Path, backend: str, words: str
) -> None:
    result = run_cli(config_dir, *APP_ARGS, stdin="s3cret\n", PYTHON_KEYRING_BACKEND=backend)
    assert result.returncode != 0
    assert words in result.stderr
    assert "Traceback" not in result.stderr


async def test_25_a_secret_too_large_for_the_backend_is_reported_with_its_size(
    config_dir: Path, sandbox: Sandbox, use_keyring
) -> None:
    from ringplus_tui.core.errors import SecretStoreError
    from ringplus_tui.store.secret_store import KeyringSecretStore
    from tests.helpers.fake_keyrings import SmallKeyring

    use_keyring(SmallKeyring())
    async with open_service(config_dir, KeyringSecretStore()) as (service, _):
        await service.save_app(sandbox.demo_app("fits"), "s" * 1279)
        with pytest.raises(SecretStoreError, match="1281 characters"):
            await service.save_app(sandbox.demo_app("too-big"), "s" * 1281)
        assert "too-big" not in service.settings.apps


async def test_26_a_locked_keyring_is_not_taken_for_signed_out(
    config_dir: Path, use_keyring
) -> None:
    from ringplus_tui.core.errors import SecretStoreError
    from ringplus_tui.store.secret_store import KeyringSecretStore
    from tests.helpers.fake_keyrings import LockedKeyring

    signed_in = Account(
        name="alice", app="x", expires_at=time.time() + 3600, obtained_at=time.time(),
        has_refresh_token=True,
    )  # fmt: skip
    SettingsStore(config_dir).save(SettingsStore(config_dir).load().with_account(signed_in))
    before = (config_dir / "config.toml").read_bytes()
    use_keyring(LockedKeyring())
    async with open_service(config_dir, KeyringSecretStore()) as (service, _):
        with pytest.raises(SecretStoreError, match="locked"):
            await service.access_token("alice")
        assert token_status(service.settings.accounts["alice"], time.time()) == TokenStatus.VALID
    assert (config_dir / "config.toml").read_bytes() == before


async def test_27_a_hanging_keyring_times_out_and_the_ui_keeps_running(
    config_dir: Path, use_keyring
) -> None:
    from ringplus_tui.store.secret_store import KeyringSecretStore
    from ringplus_tui.tui.app import RingPlusApp
    from tests.helpers.fake_keyrings import HangingKeyring

    use_keyring(HangingKeyring())
    SettingsStore(config_dir).save(
        SettingsStore(config_dir).load().with_account(Account(name="alice", app="x"))
    )
    service = OAuthService(SettingsStore(config_dir), KeyringSecretStore(), keyring_timeout=0.5)
    app = RingPlusApp(service)
    async with app.run_test(notifications=True) as pilot:
        started = time.monotonic()
        await pilot.pause(1.5)
        assert time.monotonic() - started < 2.5  # the event loop was never blocked
        assert app._ticks >= 1  # the one timer kept ticking
        messages = [n.message for n in app._notifications]
        assert any("did not answer within 0.5 s" in m for m in messages)


async def test_28_the_dashboard_reads_no_secret_at_start(
    config_dir: Path, keyring_store, sandbox: Sandbox
) -> None:
    from ringplus_tui.tui.app import RingPlusApp

    async with open_service(config_dir, keyring_store) as (service, _):
        for name in ("a", "b", "c", "d", "e"):
            await sign_in(service, sandbox, name)
    reads: list[str] = []
    original = keyring_store.get

    def counting_get(key: str) -> str | None:
        reads.append(key)
        return original(key)

    keyring_store.get = counting_get  # type: ignore[method-assign]
    app = RingPlusApp(OAuthService(SettingsStore(config_dir), keyring_store))
    async with app.run_test() as pilot:
        await pilot.pause(0.5)
        assert len(app.dashboard.rows) == 5
    assert reads == ["ringplus-tui:probe"]  # one probe of the backend, no token read

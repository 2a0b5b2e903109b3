"""Shared fixtures: the sandbox provider on loopback and a real OS keyring."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from dot_provider import DotServer, dot_available

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.secret_store import KeyringSecretStore
from ringplus_tui.store.settings import SettingsStore

REQUIRE_KEYRING = "RINGPLUS_TUI_REQUIRE_KEYRING"
REQUIRE_DOT = "RINGPLUS_TUI_REQUIRE_DOT"


class RecordingKeyringStore(KeyringSecretStore):
    """The real keyring under a per-test service name; remembers keys to clean up."""

    def __init__(self) -> None:
        super().__init__(service=f"ringplus-tui-test-{uuid.uuid4().hex[:10]}")
        self.keys: set[str] = set()
        self.values: set[str] = set()

    def set(self, key: str, value: str) -> None:
        self.keys.add(key)
        self.values.add(value)
        super().set(key, value)

    def cleanup(self) -> None:
        for key in self.keys:
            self.delete(key)


def _keyring_problem() -> str | None:
    import keyring

    probe = f"ringplus-tui-probe-{uuid.uuid4().hex[:8]}"
    try:
        keyring.set_password(probe, "probe", "value")
        ok = keyring.get_password(probe, "probe") == "value"
        keyring.delete_password(probe, "probe")
    except Exception as err:
        return (
            f"no usable OS keyring ({type(err).__name__}); to run these, see the README's "
            "'When there is no keyring' (a D-Bus session with gnome-keyring, as CI does)"
        )
    return None if ok else "the OS keyring backend does not keep secrets"


@pytest.fixture(scope="session")
def keyring_problem() -> str | None:
    return _keyring_problem()


@pytest.fixture
def keyring_store(keyring_problem: str | None) -> Iterator[RecordingKeyringStore]:
    """A real OS keyring (e.g. gnome-keyring over D-Bus); CI requires one."""
    if keyring_problem:
        if os.environ.get(REQUIRE_KEYRING):
            pytest.fail(keyring_problem)
        pytest.skip(keyring_problem)
    store = RecordingKeyringStore()
    yield store
    store.cleanup()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """The sandbox provider on 127.0.0.1, one-hour tokens, no rotation."""
    with Sandbox(token_lifetime=3600) as running:
        yield running


@pytest.fixture
def rotating_sandbox() -> Iterator[Sandbox]:
    """The sandbox provider with refresh-token rotation on."""
    with Sandbox(token_lifetime=3600, rotate_refresh_tokens=True) as running:
        yield running


@pytest.fixture(scope="session")
def dot() -> Iterator[DotServer]:
    """django-oauth-toolkit on loopback: the one started by ``.ci/run``, or a new one.

    Skipped when Django or django-oauth-toolkit is missing, unless CI requires it.
    """
    if not dot_available():
        reason = "django-oauth-toolkit is not installed (pip install -e '.[dev]')"
        if os.environ.get(REQUIRE_DOT):
            pytest.fail(reason)
        pytest.skip(reason)
    server = DotServer.from_environment()
    yield server
    server.stop()


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
async def service(
    config_dir: Path, keyring_store: RecordingKeyringStore
) -> AsyncIterator[OAuthService]:
    """The service over a fresh settings directory and the real keyring."""
    svc = OAuthService(SettingsStore(config_dir), keyring_store)
    yield svc
    await svc.aclose()

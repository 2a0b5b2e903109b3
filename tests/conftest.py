"""Fixtures every tier shares: the sandbox provider on loopback, secret stores, the service.

``secret_store`` (memory) is the default for the service and the app; ``keyring_store`` is the
real OS keyring, for the contract tier; the command line tier shares a file-backed
keyring backend with the processes it starts (``tests/cli/conftest.py``). Tests under
``tests/contract`` carry the ``keyring`` marker: without a keyring they are skipped, unless
``RINGPLUS_TUI_REQUIRE_KEYRING`` is set (CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import filelock
import pytest

from ringplus_tui.sandbox import Sandbox
from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.dot_provider import DotServer, dot_available
from tests.helpers.stores import RecordingKeyringStore, RecordingMemoryStore

REQUIRE_KEYRING = "RINGPLUS_TUI_REQUIRE_KEYRING"
REQUIRE_DOT = "RINGPLUS_TUI_REQUIRE_DOT"


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
def keyring_problem(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """Why the real keyring cannot be used, or ``None``; probed once per worker.

    The first write to a fresh keyring creates its collection; two xdist workers doing that
    at once get "locked", so the probes take turns through a lock file they share.
    """
    shared = tmp_path_factory.getbasetemp().parent
    with filelock.FileLock(shared / "keyring-probe.lock"):
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
def secret_store() -> RecordingMemoryStore:
    """Secrets in memory for one test: what the service and the app use unless a test is
    about the keyring itself."""
    return RecordingMemoryStore()


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
    config_dir: Path, secret_store: RecordingMemoryStore
) -> AsyncIterator[OAuthService]:
    """The service over a fresh settings directory and secrets in memory."""
    svc = OAuthService(SettingsStore(config_dir), secret_store)
    yield svc
    await svc.aclose()


def pytest_configure(config: pytest.Config) -> None:
    """Let keyring list its backends now, before a test imports ``fake_keyrings``: keyring
    takes every imported backend class into its chain, and a fake one there (such as
    ``LockedKeyring``) would answer for the real keyring in later tests of the process."""
    from keyring import backend

    backend.get_all_keyring()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark what needs the real keyring: the contract tier, and tests using ``keyring_store``."""
    contract = Path(__file__).parent / "contract"
    for item in items:
        if item.path.is_relative_to(contract) or "keyring_store" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.keyring)

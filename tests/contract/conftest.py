"""The contract tier: the real OS keyring and the real independent provider.

Every test here carries the ``keyring`` marker and needs a working OS keyring: without one
it is skipped, or fails when ``RINGPLUS_TUI_REQUIRE_KEYRING`` is set (as CI sets it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.stores import RecordingKeyringStore

REQUIRE_KEYRING = "RINGPLUS_TUI_REQUIRE_KEYRING"


@pytest.fixture(autouse=True)
def _real_keyring(keyring_problem: str | None) -> None:
    """Skip (or in CI fail) this tier's tests when no OS keyring works."""
    if keyring_problem:
        if os.environ.get(REQUIRE_KEYRING):
            pytest.fail(keyring_problem)
        pytest.skip(keyring_problem)


@pytest.fixture
async def service(
    config_dir: Path, keyring_store: RecordingKeyringStore
) -> AsyncIterator[OAuthService]:
    """The service over a fresh settings directory and the real keyring."""
    svc = OAuthService(SettingsStore(config_dir), keyring_store)
    yield svc
    await svc.aclose()

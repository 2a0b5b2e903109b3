"""The contract tier: the real OS keyring and the real independent provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ringplus_tui.service.facade import OAuthService
from ringplus_tui.store.settings import SettingsStore
from tests.helpers.stores import RecordingKeyringStore


@pytest.fixture
async def service(
    config_dir: Path, keyring_store: RecordingKeyringStore
) -> AsyncIterator[OAuthService]:
    """The service over a fresh settings directory and the real keyring."""
    svc = OAuthService(SettingsStore(config_dir), keyring_store)
    yield svc
    await svc.aclose()

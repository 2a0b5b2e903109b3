"""The command line tier: real ``ringplus-tui`` processes.

The processes and the test share secrets through keyring's own plug-in point: the backend
``FileKeyring`` (a JSON file in the test's directory, chosen by ``PYTHON_KEYRING_BACKEND``),
so the product's keyring code runs unchanged and no OS keyring is needed. The real keyring
itself is tested in ``tests/contract``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from ringplus_tui.store.secret_store import access_token_key, refresh_token_key
from tests.helpers import REPO_ROOT
from tests.helpers.cli import NAMES, Cli
from tests.helpers.stores import RecordingKeyringStore


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The keyring backend of this process and of every process it starts: one JSON file."""
    # First, before the environment names the file backend: keyring picks its backend on
    # first use, from PYTHON_KEYRING_BACKEND among others.
    previous = keyring.get_keyring()
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("FAKE_KEYRING_FILE", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.helpers.fake_keyrings.FileKeyring")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))  # the processes import the backend
    from tests.helpers.fake_keyrings import FileKeyring

    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(previous)


@pytest.fixture
def secret_store(file_keyring: Path) -> RecordingKeyringStore:
    """The product's keyring store over the shared file backend, under a per-test name."""
    return RecordingKeyringStore()


@pytest.fixture
def cli(config_dir: Path, secret_store: RecordingKeyringStore) -> Iterator[Cli]:
    """The ``ringplus-tui`` command on this test's settings and keyring service name."""
    yield Cli(config_dir, secret_store.service)
    for name in NAMES:
        for key in (access_token_key(name), refresh_token_key(name), f"account:{name}:pending"):
            secret_store.delete(key)
    secret_store.delete("app:sandbox:client_secret")

"""Keyring backends for faults a running Secret Service cannot be made to show on demand.

"No backend" and "drops everything" use keyring's own fail and null backends instead.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordSetError


class LockedKeyring(KeyringBackend):
    """A collection the person did not unlock (the prompt was dismissed)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("Failed to unlock the collection!")


class HangingKeyring(KeyringBackend):
    """A keyring waiting on an unlock prompt nobody sees."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(3)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        time.sleep(3)

    def delete_password(self, service: str, username: str) -> None:
        time.sleep(3)


class SmallKeyring(KeyringBackend):
    """Windows Credential Manager's limit: 2560 bytes of UTF-16 per secret."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) > 2560:
            raise PasswordSetError("(1783, 'CredWrite', 'The stub received bad data')")
        self.data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.data.pop((service, username), None)


class StuckKeyring(KeyringBackend):
    """A Secret Service that stopped answering (a daemon stopped on D-Bus): every call
    blocks for good."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        threading.Event().wait()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        threading.Event().wait()

    def delete_password(self, service: str, username: str) -> None:
        threading.Event().wait()


class FileKeyring(KeyringBackend):
    """Secrets in the JSON file ``$FAKE_KEYRING_FILE``, so several processes share them;
    each change holds an exclusive lock on ``$FAKE_KEYRING_FILE.lock``, so processes
    writing at once lose nothing.

    Each write first waits ``$FAKE_KEYRING_WRITE_DELAY`` seconds (default 0): a keyring
    that answers, but late. Test use only: the secrets are in plain text.
    """

    priority = 1  # type: ignore[assignment]

    @property
    def path(self) -> Path:
        return Path(os.environ["FAKE_KEYRING_FILE"])

    def _load(self) -> dict[str, str]:
        try:
            data: dict[str, str] = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, str]) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(data))
        temporary.replace(self.path)

    def _wait(self) -> None:
        time.sleep(float(os.environ.get("FAKE_KEYRING_WRITE_DELAY", "0")))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked():
            return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        self._wait()
        with self._locked():
            data = self._load()
            data[f"{service}\0{username}"] = password
            self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        self._wait()
        with self._locked():
            data = self._load()
            data.pop(f"{service}\0{username}", None)
            self._save(data)

"""Keyring backends for faults a running Secret Service cannot be made to show on demand.

"No backend" and "drops everything" use keyring's own fail and null backends instead.
"""

from __future__ import annotations

import time

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

"""Secret stores for tests: the real OS keyring under a per-test name, or memory; both
remember every key and value written, so a test can look for those secrets in files."""

from __future__ import annotations

import uuid

from ringplus_tui.store.secret_store import KeyringSecretStore, MemorySecretStore


class RecordingKeyringStore(KeyringSecretStore):
    """The real keyring under a per-test service name; remembers keys to clean up."""

    def __init__(self) -> None:
        super().__init__(service=f"ringplus-tui-test-{uuid.uuid4().hex[:10]}")
        self.keys: set[str] = set()
        self.values: set[str] = set()

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` in the keyring and remember both."""
        self.keys.add(key)
        self.values.add(value)
        super().set(key, value)

    def cleanup(self) -> None:
        """Delete every key this store wrote."""
        for key in self.keys:
            self.delete(key)


class RecordingMemoryStore(MemorySecretStore):
    """Secrets in this process's memory; remembers every key and value ever written."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: set[str] = set()
        self.values: set[str] = set()

    def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` and remember both."""
        self.keys.add(key)
        self.values.add(value)
        super().set(key, value)

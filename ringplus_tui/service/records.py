"""The settings snapshot and every write to it, tokens in the secret store, account locks.

:class:`Records` is the one place that changes ``config.toml`` (through
:class:`~ringplus_tui.store.settings.SettingsStore`'s read-modify-write) and the
one place that stores a token. Inside :meth:`Records.batch` account changes are
kept in memory and written once when the batch ends; what a refresh learnt is
also noted beside the account's lock file, so another process that takes the
lock next sees it before the batch is written. No Textual, no HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ringplus_tui.core.errors import SettingsFileError
from ringplus_tui.core.models import Account, AppConfig, Token
from ringplus_tui.oauth.token_response import token_from_response
from ringplus_tui.store.locks import account_lock
from ringplus_tui.store.secret_store import (
    SecretVault,
    access_token_key,
    pending_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import Settings, SettingsStore

Clock = Callable[[], float]
"""A function returning the current time as UTC epoch seconds."""

AccountChange = Callable[[Account], Account]
"""A pure function from an account record to its new record."""

TOKEN_KEYS = (access_token_key, refresh_token_key, pending_key)
"""Every secret-store entry an account owns."""

_NOTED_FIELDS = (
    "expires_at",
    "obtained_at",
    "scope",
    "token_type",
    "has_refresh_token",
    "last_refresh_at",
    "lifetime_assumed",
    "needs_sign_in",
)
"""The token metadata noted beside an account's lock file (never a secret)."""


class Records:
    """The settings snapshot, its writes, stored tokens and the per-account locks.

    Args:
        store: Where ``config.toml`` lives.
        vault: The secret store, off the event loop.
        clock: Returns the current time, UTC epoch seconds.

    Raises:
        ConfigError: The settings file cannot be read.
    """

    def __init__(self, store: SettingsStore, vault: SecretVault, clock: Clock) -> None:
        self.store = store
        self.vault = vault
        self.clock = clock
        self._settings = store.load()
        self._signature = store.signature()
        self._batch: dict[str, AccountChange] | None = None

    @property
    def settings(self) -> Settings:
        """The current settings (immutable; replaced after each change), including the
        changes of a running batch."""
        return self._settings

    def account(self, name: str) -> Account:
        """The account ``name``.

        Raises:
            ConfigError: No such account (the message suggests a close name).
        """
        return self._settings.account(name)

    def app_of(self, account: Account) -> AppConfig:
        """The app ``account`` signs in through.

        Raises:
            ConfigError: The app is gone.
        """
        return self._settings.app(account.app)

    # -- reading and writing the settings --------------------------------

    def _with_batch(self, settings: Settings) -> Settings:
        for name, change in (self._batch or {}).items():
            if name in settings.accounts:
                settings = settings.with_account(change(settings.accounts[name]))
        return settings

    async def reload(self) -> bool:
        """Re-read ``config.toml`` if another process changed it; a running batch's
        changes are applied again on top.

        Returns:
            True when the settings changed.

        Raises:
            ConfigError: The file on disk is invalid now; the settings in memory
                are kept and the file is not overwritten.
        """
        signature = self.store.signature()
        if signature == self._signature:
            return False
        settings = self._with_batch(await asyncio.to_thread(self.store.load))
        self._signature = signature
        changed = settings != self._settings
        self._settings = settings
        return changed

    async def update(self, change: Callable[[Settings], Settings]) -> Settings:
        """Read-modify-write ``config.toml`` with ``change`` (a pure function).

        Raises:
            ConfigError: The file cannot be read or written; nothing was changed.
        """
        settings = await asyncio.to_thread(self.store.update, change)
        self._signature = self.store.signature()
        self._settings = self._with_batch(settings)
        return settings

    async def update_account(self, name: str, change: AccountChange) -> Account:
        """Change the account ``name``: written now, or when the running batch ends.

        Returns:
            The changed account.

        Raises:
            ConfigError: No such account, or the file cannot be written.
        """
        if self._batch is not None:
            earlier = self._batch.get(name)
            if earlier is None:
                self._batch[name] = change
            else:
                self._batch[name] = lambda account: change(earlier(account))
            account = change(self._settings.account(name))
            self._settings = self._settings.with_account(account)
            return account

        def apply(settings: Settings) -> Settings:
            return settings.with_account(change(settings.account(name)))

        return (await self.update(apply)).account(name)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        """Keep account changes in memory and write them in one settings write at the end
        (also when the body raises). Nested batches join the outer one.

        Raises:
            ConfigError: The final write failed.
        """
        if self._batch is not None:
            yield
            return
        self._batch = {}
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if batch:

                def apply(settings: Settings) -> Settings:
                    for name, change in batch.items():
                        if name in settings.accounts:
                            settings = settings.with_account(change(settings.accounts[name]))
                    return settings

                with self.secrets_changed("The new tokens are in the keyring"):
                    await self.update(apply)

    @contextlib.contextmanager
    def secrets_changed(self, done: str) -> Iterator[None]:
        """Inside: the keyring was already changed, so a settings file that cannot be
        written is reported as that (``done`` in the keyring, the settings not), never
        as "nothing was changed". The error stays a failure (exit 1), not a usage error.

        Args:
            done: What happened in the keyring, e.g. ``"The new token is in the keyring"``.

        Raises:
            SettingsFileError: The settings could not be written; its message says
                what the keyring holds, which file failed and what to do.
        """
        try:
            yield
        except SettingsFileError as error:
            raise SettingsFileError(
                f"{done}, but the settings could not be saved: "
                f"{_without_nothing_changed(error)} Until they are, the settings show the "
                "account as it was before.",
                title=error.title,
            ) from error

    # -- tokens ----------------------------------------------------------

    def token_from(
        self,
        data: Mapping[str, Any],
        app: AppConfig,
        account: Account,
        *,
        previous_refresh_token: str | None,
    ) -> Token:
        """Read a token response (RFC 6749 §5.1) for ``account`` of ``app``.

        Raises:
            TokenEndpointError: The response is not a usable token.
        """
        return token_from_response(
            dict(data),
            now=self.clock(),
            default_lifetime=app.provider.default_token_lifetime,
            requested_scope=account.scope or app.scopes,
            previous_refresh_token=previous_refresh_token,
        )

    async def store_token(
        self,
        account: Account,
        token: Token,
        *,
        refreshed: bool,
        previous_refresh_token: str | None = None,
    ) -> Account:
        """Store ``token`` for ``account``: the refresh token first, so a rotated one is
        never lost even if storing the access token then fails. Call it holding the
        account's lock.

        Args:
            account: The account.
            token: The new token.
            refreshed: It came from a refresh (sets ``last_refresh_at``).
            previous_refresh_token: The refresh token already stored; an unchanged
                one is not written again.

        Returns:
            The account with the token's metadata.

        Raises:
            SecretStoreError: The keyring failed.
            ConfigError: The settings cannot be written.
        """
        name = account.name
        if not token.refresh_token:
            await self.vault.delete(refresh_token_key(name))
        elif token.refresh_token != previous_refresh_token:
            await self.vault.set(refresh_token_key(name), token.refresh_token)
        await self.vault.set(access_token_key(name), token.access_token)

        def change(current: Account) -> Account:
            return replace(
                current,
                expires_at=token.expires_at,
                obtained_at=token.obtained_at,
                scope=token.scope,
                token_type=token.token_type,
                has_refresh_token=bool(token.refresh_token),
                last_refresh_at=token.obtained_at if refreshed else current.last_refresh_at,
                lifetime_assumed=token.lifetime_assumed,
                needs_sign_in=False,
            )

        with self.secrets_changed("The new token is in the keyring"):
            stored = await self.update_account(name, change)
        if self._batch is not None:
            self._note(stored)  # the settings are written later: tell the lock's next holder
        return stored

    async def delete_tokens(self, name: str, *, keys: tuple[Callable[[str], str], ...]) -> None:
        """Delete the secret-store entries ``keys`` of the account ``name``.

        Raises:
            SecretStoreError: The keyring failed.
        """
        for key in keys:
            await self.vault.delete(key(name))
        with contextlib.suppress(OSError):
            self._note_path(name).unlink(missing_ok=True)

    # -- the per-account lock ----------------------------------------------

    def lock_path(self, name: str) -> Path:
        """The lock file of the account ``name``."""
        digest = hashlib.sha256(name.encode()).hexdigest()[:20]
        return self.store.directory / "locks" / f"{digest}.lock"

    def lock(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``name``'s lock file: one token change per account across processes.

        Raises:
            RingPlusError: Another process held it too long (``Account busy``).
        """
        return account_lock(self.lock_path(name), name)

    def _note_path(self, name: str) -> Path:
        return self.lock_path(name).with_suffix(".last")

    def _note(self, account: Account) -> None:
        """Note ``account``'s token metadata beside its lock file, for the next holder."""
        data = {field: getattr(account, field) for field in _NOTED_FIELDS}
        data["name"] = account.name
        with contextlib.suppress(OSError, ValueError):
            raw = json.dumps(data).encode()
            # Overwritten in place and padded with spaces instead of truncated: on ext4
            # a truncate-then-write flushes the file at once (milliseconds per refresh).
            fd = os.open(self._note_path(account.name), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                raw += b" " * (os.fstat(fd).st_size - len(raw))
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, raw)
            finally:
                os.close(fd)

    async def catch_up(self, account: Account) -> Account:
        """Apply a newer token noted by the lock's last holder (another process whose
        batch is not written yet). Call it holding the account's lock, after
        :meth:`reload`.

        Returns:
            ``account``, or the account with the newer token's metadata.
        """
        if account.obtained_at is None:
            return account
        try:
            data = json.loads(self._note_path(account.name).read_text(encoding="utf-8"))
            noted = {field: data[field] for field in _NOTED_FIELDS}
            noted["scope"] = tuple(str(s) for s in noted["scope"])
            obtained = float(noted["obtained_at"])
        except (OSError, ValueError, TypeError, KeyError):
            return account
        if data.get("name") != account.name or not obtained > account.obtained_at:
            return account
        return await self.update_account(account.name, lambda a: replace(a, **noted))


def _without_nothing_changed(error: SettingsFileError) -> str:
    """The store's message about a file it could not write (which file, why, what to
    do), without its claim that nothing was changed."""

    def sentence(match: re.Match[str]) -> str:
        return " " + match.group(1).upper()

    text = re.sub(r"\s*Nothing was changed[.;]?\s*(\w?)", sentence, error.message)
    return text.strip()

"""Refresh (RFC 6749 §6), tokens for scripts, forget and revoke (RFC 7009). No Textual.

Every refresh, batched or not, runs the same path: one at a time per account in
this process (single flight), under the account's lock file across processes,
and inside the lock the settings and the last holder's note are read again, so a
token another process just refreshed is used instead of refreshing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import replace
from typing import TypeVar

from ringplus_tui.core.errors import (
    ClientAuthError,
    ConfigError,
    EndpointError,
    NeedsSignInError,
    NetworkError,
    RingPlusError,
    TokenEndpointError,
)
from ringplus_tui.core.models import Account, AppConfig
from ringplus_tui.core.status import refresh_due
from ringplus_tui.store.secret_store import access_token_key, refresh_token_key

from .clients import Clients
from .hints import Hints
from .profile import ProfileApi
from .records import Records

REFRESH_ALL_LIMIT = 8
"""Refreshes that :meth:`Tokens.refresh_all` runs at once."""

OnDone = Callable[[str, Account | RingPlusError], Awaitable[None] | None]
"""Called after each account of a refresh-all with its account or its error."""

T = TypeVar("T")


async def despite_cancellation(step: Awaitable[T]) -> T:
    """Run ``step`` to its end even when the caller is cancelled meanwhile.

    Storing a token the provider already issued is such a step: once a refresh
    token was rotated, abandoning the store loses the grant. A cancellation that
    arrives meanwhile is raised again after ``step`` finished.

    Returns:
        What ``step`` returned.

    Raises:
        asyncio.CancelledError: The caller was cancelled while ``step`` ran.
        Whatever ``step`` raises.
    """
    task = asyncio.ensure_future(step)
    cancelled = False
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                break
            cancelled = True
        except BaseException:
            break
    result = task.result()
    if cancelled:
        raise asyncio.CancelledError
    return result


class Tokens:
    """Refreshes, hands out, forgets and revokes accounts' tokens.

    Args:
        records: The settings, the secret store and the account locks.
        clients: The OAuth clients.
        profile: The provider's API, asked who an account is after its first refresh.
        hints: How messages say to sign in.
    """

    def __init__(
        self, records: Records, clients: Clients, profile: ProfileApi, hints: Hints
    ) -> None:
        self.records = records
        self.clients = clients
        self.profile = profile
        self.hints = hints
        self.vault = records.vault
        self._refreshing: dict[str, asyncio.Future[Account]] = {}

    def _not_signed_in(self, name: str) -> NeedsSignInError:
        return NeedsSignInError(f"'{name}' is not signed in. {self.hints.sign_in(name)}")

    async def refresh(self, account: Account, *, force: bool = True) -> Account:
        """Refresh ``account``'s access token (RFC 6749 §6).

        One refresh per account at a time: in this process a second call waits
        for the first one's result; across processes a lock file is held, and
        inside it the settings and the lock's last note are read again, so a token
        another process just refreshed is used instead of refreshing twice. A response without
        a refresh token keeps the old one. A failure never deletes or
        overwrites a stored token.

        Args:
            account: The account's record (as the caller last saw it).
            force: Refresh even when the token is still fresh (the person asked);
                with ``False`` only when it is due (expired or inside its margin).

        Returns:
            The account with its current token metadata.

        Raises:
            ConfigError: Unknown account or app, or no client secret.
            NeedsSignInError: Not signed in, no refresh token, or the provider
                rejected it (``invalid_grant``); the account is marked ``needs-sign-in``.
            TokenEndpointError: Another refusal (e.g. ``invalid_client``).
            NetworkError: Temporary failure; nothing changed.
            SecretStoreError: The keyring failed.
        """
        name = account.name
        running = self._refreshing.get(name)
        if running is None:
            running = asyncio.ensure_future(self._refresh(account, force=force))
            self._refreshing[name] = running
            running.add_done_callback(lambda done: self._refresh_done(name, done))
        # Shielded: if the caller is cancelled, the refresh still finishes and
        # stores a rotated refresh token.
        return await asyncio.shield(running)

    @property
    def in_flight(self) -> bool:
        """Whether a refresh is running in this process."""
        return any(not task.done() for task in self._refreshing.values())

    async def finish_in_flight(self, within: float) -> bool:
        """Wait up to ``within`` seconds for the refreshes running in this process, so
        a refresh token the provider is rotating right now is stored before the program
        ends. Being cancelled meanwhile does not shorten the wait (the cancellation is
        raised again at its end).

        Returns:
            True when none is left running.
        """
        deadline = time.monotonic() + max(0.0, within)
        cancelled = False
        while running := [task for task in self._refreshing.values() if not task.done()]:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.shield(asyncio.wait(running, timeout=left))
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError
        return not self.in_flight

    def _refresh_done(self, name: str, done: asyncio.Future[Account]) -> None:
        self._refreshing.pop(name, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so an abandoned refresh never warns

    async def _refresh(self, seen: Account, *, force: bool) -> Account:
        name = seen.name
        async with self.records.lock(name):
            with contextlib.suppress(ConfigError):
                await self.records.reload()
            record = await self.records.catch_up(self.records.account(name))
            if force and record.obtained_at != seen.obtained_at:
                return record  # another process refreshed it while we waited
            if not record.signed_in:
                raise self._not_signed_in(name)
            if not force and not refresh_due(record, self.records.clock()):
                return record
            app = self.records.app_of(record)
            refresh_token = await self.vault.get(refresh_token_key(name))
            if not refresh_token:
                raise NeedsSignInError(
                    f"'{name}' has no refresh token, so it cannot be refreshed. "
                    f"{self.hints.sign_in(name)}"
                )
            data = await self._request(record, app, refresh_token)
            token = self.records.token_from(data, app, record, previous_refresh_token=refresh_token)
            # The provider may have rotated the refresh token: store it whatever happens.
            stored = await despite_cancellation(
                self.records.store_token(
                    record, token, refreshed=True, previous_refresh_token=refresh_token
                )
            )
        if stored.user is None and app.provider.api_base:
            with contextlib.suppress(RingPlusError):
                stored = await self.profile.update(stored, app, access_token=token.access_token)
        return stored

    async def _request(
        self, record: Account, app: AppConfig, refresh_token: str
    ) -> dict[str, object]:
        """Send the refresh request; a rejected refresh token marks ``needs-sign-in``."""
        client = await self.clients.client(app, need_secret=True)
        try:
            with self.clients.translating(app.provider.token_endpoint, operation="refresh"):
                data: dict[str, object] = await client.refresh_token(
                    app.provider.token_endpoint,
                    refresh_token=refresh_token,
                    auth=self.clients.client_auth(client, app.provider.token_endpoint_auth_method),
                )
                return data
        except ClientAuthError:
            self.clients.drop(app.name)  # the secret may have changed: read it again
            raise
        except NeedsSignInError as error:
            # invalid_grant, or a 400 a provider sends for a refresh token it dropped
            # (no code, or one that is not about the app): the grant is gone.
            name = record.name
            with contextlib.suppress(RingPlusError):
                await self.records.update_account(
                    name, lambda account: replace(account, needs_sign_in=True)
                )
            if error.error:
                said = error.error + (f": {error.description}" if error.description else "")
            else:  # a bare 400 (glewlwyd sends an empty one)
                said = "HTTP 400" + (f": {error.description}" if error.description else "")
            raise NeedsSignInError(
                f"The provider no longer accepts the refresh token of '{name}' "
                f"({said}); the stored token was kept. {self.hints.sign_in(name)}",
                error=error.error,
                description=error.description,
            ) from error.__cause__

    async def valid_access_token(self, name: str) -> str:
        """Return an access token for ``name`` that is not inside its refresh margin,
        refreshing first when needed (for scripts).

        Never returns a token that has expired or that belongs to an account
        whose refresh token the provider rejected.

        Raises:
            NeedsSignInError: Not signed in, the refresh token was rejected, or the
                token expired and cannot be refreshed.
            The other errors of :meth:`refresh`.
        """
        with contextlib.suppress(ConfigError):
            await self.records.reload()
        record = self.records.account(name)
        if not record.signed_in:
            raise self._not_signed_in(name)
        now = self.records.clock()
        if refresh_due(record, now) or (record.expires_at is not None and record.expires_at <= now):
            record = await self.refresh(record, force=False)
        if record.needs_sign_in:
            raise NeedsSignInError(
                f"The provider rejected the refresh token of '{name}'. {self.hints.sign_in(name)}"
            )
        if record.expires_at is None or record.expires_at <= self.records.clock():
            raise NeedsSignInError(
                f"The access token of '{name}' has expired and cannot be refreshed. "
                f"{self.hints.sign_in(name)}"
            )
        token = await self.vault.get(access_token_key(name))
        if not token:
            raise NeedsSignInError(
                f"No access token is stored for '{name}'. {self.hints.sign_in(name)}"
            )
        return token

    async def refresh_all(
        self,
        names: Sequence[str],
        *,
        limit: int = REFRESH_ALL_LIMIT,
        on_done: OnDone | None = None,
    ) -> dict[str, Account | RingPlusError]:
        """Refresh several accounts at once, at most ``limit`` at a time.

        Tokens go to the secret store as each refresh finishes (a rotated refresh
        token at once); the settings file is written once, at the end, so a
        thousand accounts cost one write, not a thousand. Each refresh re-reads
        the account under its lock, as :meth:`refresh` does.

        Args:
            names: The accounts.
            limit: How many refreshes run concurrently (default 8).
            on_done: Called after each account with its account or its error.

        Returns:
            Each account's new record, or the error it met.
        """
        gate = asyncio.Semaphore(max(1, limit))
        results: dict[str, Account | RingPlusError] = {}

        async def one(name: str) -> None:
            async with gate:
                try:
                    outcome: Account | RingPlusError = await self.refresh(
                        self.records.account(name)
                    )
                except RingPlusError as err:
                    outcome = err
            results[name] = outcome
            if on_done is not None:
                maybe = on_done(name, outcome)
                if maybe is not None:
                    await maybe

        async with self.records.batch():
            await asyncio.gather(*(one(name) for name in names))
        return results

    async def forget(self, account: Account) -> Account:
        """Remove ``account``'s tokens from this machine only; it stays, signed out.

        Raises:
            SecretStoreError: The keyring failed.
            ConfigError: The settings cannot be written.
        """
        async with self.records.lock(account.name):
            await self.records.delete_tokens(
                account.name, keys=(access_token_key, refresh_token_key)
            )

            def change(current: Account) -> Account:
                return Account(
                    name=current.name,
                    app=current.app,
                    auto_refresh=current.auto_refresh,
                    refresh_margin=current.refresh_margin,
                )

            with self.records.secrets_changed("The tokens were removed from the keyring"):
                return await self.records.update_account(account.name, change)

    async def revoke(self, account: Account) -> Account:
        """Revoke ``name``'s tokens at the provider (RFC 7009), then forget them here.

        The refresh token is revoked first (which, per RFC 7009 §2.1, may also
        end its access tokens), then the access token. Without a revocation
        endpoint this is the same as :meth:`forget`.

        Raises:
            ConfigError: Unknown account or app.
            NetworkError: The provider could not be reached; nothing was removed.
            TokenEndpointError: The provider refused (also the app's credentials: some
                providers let only confidential clients revoke); titled "Revocation
                refused", it says so and offers forget. Nothing was removed.
            SecretStoreError: The keyring failed.
        """
        app = self.records.app_of(account)
        endpoint = app.provider.revocation_endpoint
        if endpoint:
            import httpx2

            client = await self.clients.client(app, need_secret=True)
            tokens = [
                (await self.vault.get(refresh_token_key(account.name)), "refresh_token"),
                (await self.vault.get(access_token_key(account.name)), "access_token"),
            ]
            for value, hint in tokens:
                if not value:
                    continue
                with (
                    _about_revocation(account.name),
                    self.clients.translating(endpoint, operation="revoke"),
                ):
                    response = await client.revoke_token(
                        endpoint,
                        token=value,
                        token_type_hint=hint,
                        auth=self.clients.client_auth(
                            client, app.provider.token_endpoint_auth_method
                        ),
                    )
                    if response.status_code != 200:  # RFC 7009 §2.2: 200 even if unknown
                        response.raise_for_status()
                        raise httpx2.HTTPStatusError(
                            f"HTTP {response.status_code}",
                            request=response.request,
                            response=response,
                        )
        return await self.forget(account)


@contextlib.contextmanager
def _about_revocation(name: str) -> Iterator[None]:
    """Say a refused revocation (RFC 7009 §2.2.1) as that, offering forget: a refusal of
    the app's credentials there usually means the provider lets only confidential
    clients revoke, not that the token endpoint's settings are wrong."""
    try:
        yield
    except (EndpointError, NetworkError):
        raise
    except TokenEndpointError as error:
        if error.title == REVOCATION_REFUSED:
            raise
        said = (
            error.error + (f": {error.description}" if error.description else "")
            if (error.error)
            else error.message
        )
        raise TokenEndpointError(
            f"The provider refused to revoke the tokens of '{name}' ({said}). Nothing was "
            "removed. Some providers let only confidential clients revoke; 'forget' "
            "removes the tokens from this machine without revoking them.",
            error=error.error,
            description=error.description,
            title=REVOCATION_REFUSED,
        ) from error


REVOCATION_REFUSED = "Revocation refused"
"""The title of a refused revocation."""

"""The OAuth service under every screen and the command line. No Textual here.

:class:`OAuthService` is a thin facade over collaborators that each own one job:

- :class:`~.records.Records`: the settings snapshot, its writes (and ``batch()``),
  storing tokens, the per-account locks;
- :class:`~.clients.Clients`: the HTTP pool, per-app authlib clients, discovery;
- :class:`~.catalog.Catalog`: apps and accounts;
- :class:`~.sign_in.SignIn`: the authorization-code flow with PKCE (RFC 6749 §4.1,
  RFC 7636) and its shortcuts;
- :class:`~.tokens.Tokens`: refresh (RFC 6749 §6), tokens for scripts, forget,
  revoke (RFC 7009);
- :class:`~.profile.ProfileApi`: the provider's own API.

Every error leaving it is a :class:`~ringplus_tui.core.errors.RingPlusError`; stored
accounts and tokens change only when an operation succeeded.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ringplus_tui.core.errors import RingPlusError
from ringplus_tui.core.models import Account, AppConfig, PendingAuthorization
from ringplus_tui.store.secret_store import (
    KEYRING_TIMEOUT,
    SecretStore,
    SecretVault,
    access_token_key,
)
from ringplus_tui.store.settings import Settings, SettingsStore

from .catalog import Catalog, refresh_token_warning
from .clients import CONNECT_TIMEOUT, DEFAULT_TIMEOUT, Clients
from .hints import PLAIN_HINTS, Hints
from .profile import ProfileApi
from .records import Clock, Records
from .sign_in import SignIn
from .tokens import REFRESH_ALL_LIMIT, OnDone, Tokens

if TYPE_CHECKING:
    import httpx2

    from ringplus_tui.oauth.discovery import Discovery
    from ringplus_tui.oauth.loopback import LoopbackListener
    from ringplus_tui.oauth.provider_api import Profile

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "REFRESH_ALL_LIMIT",
    "Clock",
    "OAuthService",
    "refresh_token_warning",
]


class OAuthService:
    """Apps, accounts and their tokens, with the flows that change them.

    Every change to the settings is a read-modify-write of ``config.toml`` under
    a cross-process lock, and every change to an account's tokens holds that
    account's lock file, so the dashboard and any number of ``ringplus-tui``
    commands can run at once without losing a rotated refresh token.

    Args:
        settings_store: Where ``config.toml`` lives.
        secret_store: Where secrets live (OS keyring, or memory for the sandbox).
        transport: HTTPX transport for tests; by default one pooled client, which
            honours the proxy environment variables, carries every request.
        clock: Returns the current time, UTC epoch seconds.
        timeout: Seconds an HTTP request may take (connecting: at most 10 s).
        token_factory: Makes random strings for ``state`` and ``code_verifier``
            (tests pass a deterministic one).
        keyring_timeout: Seconds to wait for one secret-store call.
        hints: How messages name the keys or commands that fix a problem (default:
            plain words; the TUI and the command line pass their own).

    Raises:
        ConfigError: The settings file cannot be read.
    """

    def __init__(
        self,
        settings_store: SettingsStore,
        secret_store: SecretStore,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock = time.time,
        timeout: float = DEFAULT_TIMEOUT,
        token_factory: Callable[[int], str] = secrets.token_urlsafe,
        keyring_timeout: float = KEYRING_TIMEOUT,
        hints: Hints = PLAIN_HINTS,
    ) -> None:
        self.vault = SecretVault(secret_store, timeout=keyring_timeout)
        """The secret store, off the event loop and bounded by ``keyring_timeout``."""
        self.clock = clock
        """Returns the current time, UTC epoch seconds."""
        self.hints = hints
        """How messages name the keys or commands that fix a problem."""
        self.records = Records(settings_store, self.vault, clock)
        self.clients = Clients(self.vault, hints, clock, transport=transport, timeout=timeout)
        self.profile = ProfileApi(self.records, self.clients, hints)
        self.catalog = Catalog(self.records, self.clients)
        self.sign_in = SignIn(self.records, self.clients, self.profile, token_factory)
        self.tokens = Tokens(self.records, self.clients, self.profile, hints)
        self.finish_timeout = 2 * timeout + 2 * keyring_timeout
        """Seconds :meth:`aclose` waits for refreshes in flight: one whole request (its
        deadline is twice ``timeout``) and storing its token."""

    # -- reading ----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (immutable; replaced after each change)."""
        return self.records.settings

    @property
    def secret_backend(self) -> str:
        """Human name of the secret store in use."""
        return self.vault.store.description

    @property
    def proxy_warning(self) -> str | None:
        """Set when the proxy environment variables could not be used."""
        return self.clients.proxy_warning

    def pending(self, account: str) -> PendingAuthorization | None:
        """The unexpired pending authorization of ``account`` in this process (one per
        account: starting another replaces it)."""
        return self.sign_in.pending(account)

    async def access_token(self, account: str) -> str | None:
        """Return the stored access token of ``account`` (whether or not it expired).

        Raises:
            ConfigError: No such account.
            SecretStoreError: The keyring failed.
        """
        self.records.account(account)
        return await self.vault.get(access_token_key(account))

    async def reload(self) -> bool:
        """Re-read ``config.toml`` if another process changed it.

        Returns:
            True when the settings changed.

        Raises:
            ConfigError: The file on disk is invalid now; the settings in memory
                are kept and the file is not overwritten.
        """
        return await self.records.reload()

    # -- apps and accounts (see Catalog) -----------------------------------

    async def save_app(self, app: AppConfig, client_secret: str | None) -> None:
        """Add or replace an app; see :meth:`Catalog.save_app`."""
        await self.catalog.save_app(app, client_secret)

    async def rename_app(self, old: str, new: str) -> None:
        """Rename an app; see :meth:`Catalog.rename_app`."""
        await self.catalog.rename_app(old, new)

    async def remove_app(self, name: str, *, with_accounts: bool = False) -> list[str]:
        """Remove an app; see :meth:`Catalog.remove_app`."""
        return await self.catalog.remove_app(name, with_accounts=with_accounts)

    async def add_account(self, name: str, app: str) -> Account:
        """Add an account that signs in through ``app``; see :meth:`Catalog.add_account`."""
        return await self.catalog.add_account(name, app)

    async def rename_account(self, old: str, new: str) -> Account:
        """Rename an account; its tokens and pending sign-in move with it.

        Raises:
            ConfigError: Unknown account, invalid or taken new name.
            SecretStoreError: The keyring failed; then the old entries remain.
        """
        renamed = await self.catalog.rename_account(self.records.account(old), new)
        self.sign_in.renamed(old, renamed.name)
        return renamed

    async def remove_account(self, name: str) -> None:
        """Remove an account and its tokens from this machine (no revocation), under
        its lock; see :meth:`Catalog.remove_account`.

        Raises:
            ConfigError: Unknown account.
            SecretStoreError: The keyring failed.
        """
        await self.catalog.remove_account(self.records.account(name))

    async def set_auto_refresh(
        self, name: str, enabled: bool, margin: float | None = None
    ) -> Account:
        """Switch automatic refresh of an account on or off, with its margin in seconds.

        Raises:
            ConfigError: Unknown account or the settings cannot be written.
        """
        return await self.catalog.set_auto_refresh(self.records.account(name), enabled, margin)

    # -- HTTP and the secret store -------------------------------------------

    async def check_secret_store(self) -> None:
        """Find out early whether the secret store works (:meth:`SecretVault.check`).

        Raises:
            SecretStoreError: No backend, locked, or not answering.
        """
        await self.vault.check()

    def take_clock_warning(self) -> str | None:
        """A warning, given once, that a token endpoint's clock differs from ours by more
        than 5 minutes; ``None`` otherwise."""
        return self.clients.take_clock_warning()

    async def discover(self, issuer: str) -> Discovery:
        """Find a provider's endpoints from its issuer URL; see :meth:`Clients.discover`."""
        return await self.clients.discover(issuer)

    def check_environment(self) -> str | None:
        """Set up the HTTP pool now and return a warning about the proxy settings, if any."""
        self.clients.pool()
        return self.clients.proxy_warning

    @property
    def refreshing(self) -> bool:
        """Whether a refresh is running in this process (see :meth:`aclose`)."""
        return self.tokens.in_flight

    async def aclose(self) -> None:
        """Let the refreshes in flight finish and store their tokens (the refresh token
        first), for up to :attr:`finish_timeout` seconds, then close the connection
        pool. Call once, when the program ends, also after Ctrl+C or SIGTERM: a
        refresh token the provider rotated is then kept, not lost with the process.
        A cancellation meanwhile does not cut the wait short; it is raised again after.
        """
        try:
            await self.tokens.finish_in_flight(self.finish_timeout)
        finally:
            await self.clients.aclose()

    # -- signing in (see SignIn) ---------------------------------------------

    async def start_authorization(self, account: str) -> PendingAuthorization:
        """Start signing ``account`` in: make the authorization URL (RFC 6749 §4.1.1).

        A fresh random ``state`` and a PKCE S256 ``code_verifier`` (RFC 7636
        §4.1-4.2) are kept with the exact ``redirect_uri`` for 10 minutes, in
        memory and in the secret store, so another process (``authorize`` with a
        redirected URL) or a restarted app can finish it. It replaces the account's
        previous pending sign-in.

        Returns:
            The pending authorization; open its ``authorization_url``.

        Raises:
            ConfigError: Unknown account or app.
            SecretStoreError: The keyring failed.
        """
        record = self.records.account(account)
        return await self.sign_in.start(record, self.records.app_of(record))

    async def cancel_authorization(self, account: str) -> None:
        """Drop the pending sign-in of ``account`` (the person left it); its URL is
        refused from then on. Never raises."""
        await self.sign_in.cancel(account)

    async def complete_authorization(self, pasted: str, account: str | None = None) -> Account:
        """Finish a sign-in from the pasted redirected URL (RFC 6749 §4.1.2-4.1.4); see
        :meth:`SignIn.complete`. With ``account``, a URL of another account's sign-in
        is refused (naming it) and nothing changes.

        Raises:
            AuthorizationResponseError: The URL cannot be used.
            TokenEndpointError: The provider refused the code.
            NetworkError: Temporary failure; the same URL can be submitted again.
            SecretStoreError: The token could not be stored.
        """
        return await self.sign_in.complete(pasted, account)

    def capturable(self, pending: PendingAuthorization) -> bool:
        """Whether the redirect of ``pending`` can be captured on this machine: its
        ``redirect_uri`` is a loopback address with a port (RFC 8252 §7.3) that is not
        the provider's own (the sandbox serves its demo redirect page itself)."""
        return self.sign_in.capturable(pending)

    def listen_for_redirect(self, pending: PendingAuthorization) -> LoopbackListener[Account]:
        """A listener that captures the redirect of ``pending`` on its loopback
        ``redirect_uri`` and finishes the sign-in (RFC 8252 §7.3). Use as ``async with
        service.listen_for_redirect(p) as listener: await listener.wait()``.

        Raises:
            LoopbackUnavailableError: The redirect URI is the provider's own page; or
                (on entering) not a loopback redirect URI with a port, or the port is
                taken. Paste the URL instead.
        """
        return self.sign_in.listen_for_redirect(pending)

    async def sign_in_with_password(self, account: str, username: str, password: str) -> Account:
        """Sign in without the browser by filling the provider's sign-in form; see
        :meth:`SignIn.with_password`. The password is used once, never stored or logged.

        Returns:
            The signed-in account.

        Raises:
            PasswordSignInError: Wrong password, a changed page, or a consent
                this app cannot give.
            AccessDeniedError: The provider refused access.
            NetworkError: Temporary failure.
            TokenEndpointError: The code exchange failed.
        """
        record = self.records.account(account)
        return await self.sign_in.with_password(
            record, self.records.app_of(record), username, password
        )

    # -- the provider's API (see ProfileApi) -----------------------------------

    async def fetch_profile(self, name: str) -> Profile:
        """Ask the provider's API who the account is and which phone lines it has.

        Raises:
            ConfigError: Unknown account, or the app has no API base URL.
            NeedsSignInError: No access token, or the API refused it (HTTP 401).
            NetworkError: Temporary failure.
        """
        record = self.records.account(name)
        return await self.profile.fetch(record, self.records.app_of(record))

    async def update_profile(self, name: str) -> Account:
        """Fetch the profile and store the user and number of phone lines.

        Raises:
            The errors of :meth:`fetch_profile`.
        """
        record = self.records.account(name)
        return await self.profile.update(record, self.records.app_of(record))

    # -- tokens (see Tokens) ---------------------------------------------------

    async def refresh(self, account: str, *, force: bool = True) -> Account:
        """Refresh ``account``'s access token (RFC 6749 §6), one at a time per account
        across processes; see :meth:`Tokens.refresh`.

        Args:
            account: The account's name.
            force: Refresh even when the token is still fresh; with ``False`` only
                when it is due.

        Raises:
            ConfigError: Unknown account or app, or no client secret.
            NeedsSignInError: Not signed in, or the refresh token is gone or rejected.
            TokenEndpointError: Another refusal. NetworkError: temporary failure.
            SecretStoreError: The keyring failed.
        """
        return await self.tokens.refresh(self.records.account(account), force=force)

    async def valid_access_token(self, name: str) -> str:
        """An access token of ``name`` outside its refresh margin, refreshed first when
        needed (for scripts); see :meth:`Tokens.valid_access_token`.

        Raises:
            NeedsSignInError: Not signed in, rejected, or expired and not refreshable.
            The other errors of :meth:`refresh`.
        """
        return await self.tokens.valid_access_token(name)

    async def refresh_all(
        self,
        names: Sequence[str],
        *,
        limit: int = REFRESH_ALL_LIMIT,
        on_done: OnDone | None = None,
    ) -> dict[str, Account | RingPlusError]:
        """Refresh several accounts, at most ``limit`` at a time, writing the settings
        once at the end; see :meth:`Tokens.refresh_all`.

        Returns:
            Each account's new record, or the error it met.
        """
        return await self.tokens.refresh_all(names, limit=limit, on_done=on_done)

    async def forget(self, name: str) -> Account:
        """Remove ``name``'s tokens from this machine only; the account stays, signed out.

        Raises:
            ConfigError: Unknown account.
            SecretStoreError: The keyring failed.
        """
        return await self.tokens.forget(self.records.account(name))

    async def revoke(self, name: str) -> Account:
        """Revoke ``name``'s tokens at the provider (RFC 7009), then forget them here;
        see :meth:`Tokens.revoke`.

        Raises:
            ConfigError: Unknown account or app.
            NetworkError, TokenEndpointError: The provider was not reached or refused;
                nothing was removed.
            SecretStoreError: The keyring failed.
        """
        return await self.tokens.revoke(self.records.account(name))

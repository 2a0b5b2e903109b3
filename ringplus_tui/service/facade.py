"""The OAuth service under every screen and the command line. No Textual here.

It owns the settings, the secret store and one HTTP connection pool, and runs
the authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636) and refresh
(RFC 6749 §6) through authlib's :class:`AsyncOAuth2Client`. Every error leaving
it is a :class:`~ringplus_tui.core.errors.RingPlusError`; stored accounts and tokens
change only when an operation succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ringplus_tui.core.errors import (
    ConfigError,
    LoopbackUnavailableError,
    NeedsSignInError,
    NetworkError,
    RingPlusError,
    StateMismatchError,
    TokenEndpointError,
)
from ringplus_tui.core.models import Account, AppConfig, PendingAuthorization, Token
from ringplus_tui.core.status import refresh_due
from ringplus_tui.core.validation import check_name, check_url
from ringplus_tui.oauth.token_response import token_from_response
from ringplus_tui.store.locks import account_lock
from ringplus_tui.store.secret_store import (
    KEYRING_TIMEOUT,
    SecretStore,
    SecretVault,
    access_token_key,
    client_secret_key,
    pending_key,
    refresh_token_key,
)
from ringplus_tui.store.settings import Settings, SettingsStore

REFRESH_ALL_LIMIT = 8
"""Refreshes that :meth:`OAuthService.refresh_all` runs at once."""

if TYPE_CHECKING:  # HTTP libraries load on first use, so start-up and 'token' stay fast
    import httpx2
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    from ringplus_tui.oauth.discovery import Discovery
    from ringplus_tui.oauth.http import SharedTransport
    from ringplus_tui.oauth.loopback import LoopbackListener
    from ringplus_tui.oauth.oidc import Identity
    from ringplus_tui.oauth.provider_api import Profile

DEFAULT_TIMEOUT = 30.0
"""Seconds an HTTP request may take (connecting: at most 10 s)."""
CONNECT_TIMEOUT = 10.0

Clock = Callable[[], float]
"""A function returning the current time as UTC epoch seconds."""


def _sign_in_hint(name: str) -> str:
    return f"To sign in: 's' in the app, or 'ringplus-tui authorize {name}'."


def _token_audience(app: AppConfig) -> tuple[object, ...]:
    """What decides where an app's tokens are sent: changing any of it moves them."""
    p = app.provider
    return (app.client_id, p.issuer, p.token_endpoint, p.revocation_endpoint, p.api_base)


def refresh_token_warning(app: AppConfig, account: Account) -> str | None:
    """A warning for an account that signed in without getting a refresh token.

    Without one, the account must sign in again when the access token expires
    (RFC 6749 §4.1.4: the refresh token is optional). Many providers issue one only
    for the ``offline_access`` scope (OpenID Connect Core §11) or with
    ``prompt=consent`` (Google also wants ``access_type=offline``).

    Returns:
        The warning, or ``None`` when there is a refresh token or no token at all.
    """
    if account.has_refresh_token or not account.signed_in:
        return None
    fixes = []
    if "offline_access" not in app.scopes:
        fixes.append("the offline_access scope")
    if ("prompt", "consent") not in app.authorization_params:
        fixes.append("the extra parameter prompt=consent (Google: also access_type=offline)")
    advice = (
        f" Most providers send one when asked: add {' or '.join(fixes)} to the app '{app.name}'."
        if fixes
        else ""
    )
    return (
        f"'{account.name}' is signed in, but the provider sent no refresh token, so it "
        f"cannot be refreshed: sign in again when the access token expires.{advice}"
    )


class OAuthService:
    """Apps, accounts and their tokens, with the flows that change them.

    Every change to the settings is a read-modify-write of ``config.toml`` under
    a cross-process lock, and every refresh of an account holds that account's
    lock file, so the dashboard and any number of ``ringplus-tui`` commands can
    run at once without losing a rotated refresh token.

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
    ) -> None:
        self._store = settings_store
        self._settings = settings_store.load()
        self._signature = settings_store.signature()
        self.vault = SecretVault(secret_store, timeout=keyring_timeout)
        self.proxy_warning: str | None = None
        """Set when the proxy environment variables could not be used."""
        self._transport_override = transport
        self._shared: SharedTransport | None = None
        self._timeout = timeout
        self.clock = clock
        self._token_factory = token_factory
        self._clients: dict[str, tuple[tuple[str, ...], AsyncOAuth2Client]] = {}
        self._pending: dict[str, PendingAuthorization] = {}
        self._used_states: set[str] = set()
        self._refreshing: dict[str, asyncio.Future[Account]] = {}
        self._clock_warning: str | None = None
        self._clock_warned = False
        self._batch: dict[str, Callable[[Account], Account]] | None = None
        self._checked_apps: set[AppConfig] = set()

    # -- reading ----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The current settings (immutable; replaced after each change)."""
        return self._settings

    @property
    def secret_backend(self) -> str:
        """Human name of the secret store in use."""
        return self.vault.store.description

    def pending(self, account: str) -> PendingAuthorization | None:
        """The newest unexpired pending authorization of ``account`` in this process."""
        now = self.clock()
        found = [p for p in self._pending.values() if p.account == account and p.expires_at > now]
        return max(found, key=lambda p: p.created_at, default=None)

    async def access_token(self, account: str) -> str | None:
        """Return the stored access token of ``account`` (whether or not it expired).

        Raises:
            ConfigError: No such account.
            SecretStoreError: The keyring failed.
        """
        self._settings.account(account)
        return await self.vault.get(access_token_key(account))

    async def reload(self) -> bool:
        """Re-read ``config.toml`` if another process changed it.

        Returns:
            True when the settings changed.

        Raises:
            ConfigError: The file on disk is invalid now; the settings in memory
                are kept and the file is not overwritten.
        """
        signature = self._store.signature()
        if signature == self._signature or self._batch is not None:
            return False
        settings = await asyncio.to_thread(self._store.load)
        self._signature = signature
        changed = settings != self._settings
        self._settings = settings
        return changed

    # -- changing apps and accounts ---------------------------------------

    async def _update(self, change: Callable[[Settings], Settings]) -> Settings:
        settings = await asyncio.to_thread(self._store.update, change)
        self._settings = settings
        self._signature = self._store.signature()
        return settings

    async def _update_account(self, name: str, change: Callable[[Account], Account]) -> Account:
        if self._batch is not None:
            # Inside refresh_all: keep the change in memory, write once at the end.
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

        return (await self._update(apply)).account(name)

    async def save_app(self, app: AppConfig, client_secret: str | None) -> None:
        """Add or replace an app; store its client secret when one is given.

        Args:
            app: The app (already validated, see :func:`~ringplus_tui.core.validation.build_app`).
            client_secret: The new client secret, or ``None`` to keep the stored one.

        Raises:
            ConfigError: No secret given for a new confidential app; the change
                would send signed-in accounts' tokens elsewhere (another client ID,
                issuer, token, revocation or API endpoint); or the settings file
                cannot be written.
            SecretStoreError: The keyring failed; then nothing was changed.
        """
        old = self._settings.apps.get(app.name)
        if old is not None and _token_audience(old) != _token_audience(app):
            holders = [
                name for name in self._settings.accounts_of(app.name)
                if self._settings.accounts[name].signed_in
            ]  # fmt: skip
            if holders:
                raise ConfigError(
                    f"The app '{app.name}' has signed-in accounts ({', '.join(holders)}). "
                    "Changing its client ID, issuer, token, revocation or API endpoint would "
                    "send their tokens to another server. Revoke or forget their tokens "
                    "first, or add the new settings as another app.",
                    title="Accounts are signed in",
                )
        if app.public:
            # A public client has no secret (RFC 6749 §2.1); drop one kept from before.
            await self.vault.delete(client_secret_key(app.name))
        elif client_secret is not None and client_secret.strip():
            await self.vault.set(client_secret_key(app.name), client_secret.strip())
        elif app.name not in self._settings.apps or self._settings.apps[app.name].public:
            raise ConfigError(
                "The client secret is required for this app: copy it from the app's "
                "settings at the provider, or choose client authentication 'none' for a "
                "public client (PKCE, no secret).",
            )
        await self._update(lambda settings: settings.with_app(app))
        self._clients.pop(app.name, None)

    async def rename_app(self, old: str, new: str) -> None:
        """Rename an app; its accounts follow and its client secret moves with it.

        Raises:
            ConfigError: Unknown app, invalid or taken new name.
            SecretStoreError: The keyring failed; then nothing was changed.
        """
        new = check_name("name", new, label="App name")
        app = self._settings.app(old)
        if new == old:
            return
        if new in self._settings.apps:
            raise ConfigError(f"There is already an app called '{new}'.")
        secret = await self.vault.get(client_secret_key(old))
        if secret:
            await self.vault.set(client_secret_key(new), secret)

        def apply(settings: Settings) -> Settings:
            settings = settings.without_app(old).with_app(replace(app, name=new))
            for name in settings.accounts_of(old):
                settings = settings.with_account(replace(settings.accounts[name], app=new))
            return settings

        await self._update(apply)
        self._clients.pop(old, None)
        await self.vault.delete(client_secret_key(old))

    async def remove_app(self, name: str, *, with_accounts: bool = False) -> list[str]:
        """Remove an app and its client secret.

        Args:
            name: The app.
            with_accounts: Also remove the accounts that use it (and their
                tokens). Without it, an app in use is not removed.

        Returns:
            The accounts removed with it.

        Raises:
            ConfigError: Unknown app, or accounts use it and ``with_accounts``
                is false (the message names them).
            SecretStoreError: The keyring failed.
        """
        self._settings.app(name)
        users = self._settings.accounts_of(name)
        if users and not with_accounts:
            raise ConfigError(
                f"The app '{name}' is used by {', '.join(users)}. Remove those accounts too, "
                "or move them to another app first.",
                title="App in use",
            )
        for account in users:
            await self.remove_account(account)
        await self._update(lambda settings: settings.without_app(name))
        self._clients.pop(name, None)
        await self.vault.delete(client_secret_key(name))
        return users

    async def add_account(self, name: str, app: str) -> Account:
        """Add an account that signs in through ``app``; an existing one is kept.

        Args:
            name: The account's name.
            app: The name of an existing app.

        Returns:
            The account (an existing signed-out account switches to ``app``).

        Raises:
            ConfigError: Invalid name, unknown app, the account is signed in through
                another app (its tokens must not go to another provider), or the
                settings cannot be written.
        """
        name = check_name("account", name, label="Account name")
        self._settings.app(app)
        existing = self._settings.accounts.get(name)
        if existing is not None and existing.app != app and existing.signed_in:
            raise ConfigError(
                f"'{name}' is signed in through the app '{existing.app}'. Its tokens belong "
                f"to that app's provider, so it cannot move to '{app}' while it has them: "
                "revoke or forget them first, or choose another name.",
                title="Account is signed in",
            )

        def apply(settings: Settings) -> Settings:
            existing = settings.accounts.get(name)
            if existing is not None and existing.app == app:
                return settings
            account = replace(existing, app=app) if existing else Account(name=name, app=app)
            return settings.with_account(account)

        return (await self._update(apply)).account(name)

    async def rename_account(self, old: str, new: str) -> Account:
        """Rename an account; its tokens move with it.

        Raises:
            ConfigError: Unknown account, invalid or taken new name.
            SecretStoreError: The keyring failed; then the old entries remain.
        """
        new = check_name("account", new, label="Account name")
        account = self._settings.account(old)
        if new == old:
            return account
        if new in self._settings.accounts:
            raise ConfigError(f"There is already an account called '{new}'.")
        async with self._account_lock(old):
            keys = (access_token_key, refresh_token_key, pending_key)
            for key in keys:
                value = await self.vault.get(key(old))
                if value is not None:
                    await self.vault.set(key(new), value)

            def apply(settings: Settings) -> Settings:
                current = settings.account(old)
                return settings.without_account(old).with_account(replace(current, name=new))

            renamed = (await self._update(apply)).account(new)
            for key in keys:
                await self.vault.delete(key(old))
        self._pending = {
            s: (replace(p, account=new) if p.account == old else p)
            for s, p in self._pending.items()
        }
        return renamed

    async def remove_account(self, name: str) -> None:
        """Remove an account and its tokens from this machine (no revocation).

        Raises:
            ConfigError: Unknown account.
            SecretStoreError: The keyring failed.
        """
        self._settings.account(name)
        await self._update(lambda settings: settings.without_account(name))
        for key in (access_token_key, refresh_token_key, pending_key):
            await self.vault.delete(key(name))

    async def set_auto_refresh(
        self, name: str, enabled: bool, margin: float | None = None
    ) -> Account:
        """Switch automatic refresh of an account on or off, with its margin in seconds.

        Raises:
            ConfigError: Unknown account or the settings cannot be written.
        """
        return await self._update_account(
            name, lambda account: replace(account, auto_refresh=enabled, refresh_margin=margin)
        )

    # -- HTTP --------------------------------------------------------------

    async def check_secret_store(self) -> None:
        """Find out early whether the secret store works (:meth:`SecretVault.check`).

        Raises:
            SecretStoreError: No backend, locked, or not answering.
        """
        await self.vault.check()

    def take_clock_warning(self) -> str | None:
        """A warning, given once, that a token endpoint's clock differs from ours by more
        than 5 minutes (expiry times are then off by as much); ``None`` otherwise."""
        warning, self._clock_warning = self._clock_warning, None
        return warning

    def _inspect_token_response(self, response: httpx2.Response) -> httpx2.Response:
        from ringplus_tui.oauth.http import CLOCK_SKEW_LIMIT, clock_skew, form_encoded_to_json

        skew = clock_skew(response, self.clock())
        if skew is not None and abs(skew) > CLOCK_SKEW_LIMIT and not self._clock_warned:
            self._clock_warned = True
            direction = "ahead of" if skew > 0 else "behind"
            self._clock_warning = (
                f"The token endpoint's clock is {abs(skew) / 60:.0f} minutes {direction} this "
                "machine's. Countdowns use this machine's clock; check its time settings."
            )
        return form_encoded_to_json(response)

    async def discover(self, issuer: str) -> Discovery:
        """Find a provider's endpoints from its issuer URL (RFC 8414, OpenID Connect
        Discovery); see :func:`ringplus_tui.oauth.discovery.discover`.

        Raises:
            FieldError: The issuer is not an https URL (http only on loopback).
            DiscoveryError: No usable metadata, or it names another issuer.
            NetworkError: Temporary failure.
            TokenEndpointError: Another HTTP failure.
        """
        from ringplus_tui.oauth.discovery import discover
        from ringplus_tui.oauth.http import translate_error

        try:
            return await discover(self._http(), issuer)
        except RingPlusError:
            raise
        except Exception as err:
            raise translate_error(err, url=issuer.strip(), timeout=self._read_timeout) from err

    async def _client(self, app: AppConfig, *, need_secret: bool) -> AsyncOAuth2Client:
        if app not in self._checked_apps:
            self._check_endpoints(app)
            self._checked_apps.add(app)
        secret = None if app.public else await self.vault.get(client_secret_key(app.name))
        if need_secret and not app.public and not secret:
            raise ConfigError(
                f"The app '{app.name}' has no client secret in the keyring. Enter it again "
                "on the app's credentials screen (A, then e) or with 'ringplus-tui app add'.",
                title="Client secret missing",
            )
        fingerprint = (
            app.client_id,
            secret or "",
            app.redirect_uri,
            app.provider.token_endpoint_auth_method,
        )
        cached = self._clients.get(app.name)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        from authlib.integrations.httpx_client import AsyncOAuth2Client

        from ringplus_tui.oauth.http import encode_client_secret_basic

        client = AsyncOAuth2Client(
            client_id=app.client_id,
            client_secret=secret,
            token_endpoint_auth_method=app.provider.token_endpoint_auth_method,
            revocation_endpoint_auth_method=app.provider.token_endpoint_auth_method,
            redirect_uri=app.redirect_uri,
            code_challenge_method="S256",
            transport=self._pool(),
            timeout=self._http().timeout,
        )
        client.register_client_auth_method(("client_secret_basic", encode_client_secret_basic))
        for hook in ("access_token_response", "refresh_token_response"):
            client.register_compliance_hook(hook, self._inspect_token_response)
        self._clients[app.name] = (fingerprint, client)
        return client

    @staticmethod
    def _client_auth(client: AsyncOAuth2Client, method: str) -> httpx2.Auth | None:
        """The ``auth=`` for a token or revocation request: HTTP Basic set in place for
        ``client_secret_basic``, else ``None`` (authlib's own client auth)."""
        if method != "client_secret_basic":
            return None
        from ringplus_tui.oauth.http import client_secret_basic

        return client_secret_basic(client.client_id or "", client.client_secret or "")

    @staticmethod
    def _check_endpoints(app: AppConfig) -> None:
        """Refuse plain-http endpoints off this machine (RFC 6749 §3.1, §3.2 require TLS)."""
        p = app.provider
        endpoints = [
            ("authorization_endpoint", p.authorization_endpoint, "Authorization endpoint"),
            ("token_endpoint", p.token_endpoint, "Token endpoint"),
        ]
        if p.revocation_endpoint:
            endpoints.append(("revocation_endpoint", p.revocation_endpoint, "Revocation endpoint"))
        for field, url, label in endpoints:
            try:
                check_url(field, url, label=label)
            except ConfigError as err:
                raise ConfigError(
                    f"The app '{app.name}' cannot be used: {err.message} Fix it on the "
                    "app credentials screen or with 'ringplus-tui app add'.",
                    title="Insecure endpoint",
                ) from None

    def _pool(self) -> SharedTransport:
        """The one connection pool, made on first use (HTTPX loads only then)."""
        if self._shared is None:
            import httpx2

            from ringplus_tui.oauth.http import SharedTransport

            timeout = httpx2.Timeout(self._timeout, connect=min(CONNECT_TIMEOUT, self._timeout))
            try:
                pool = httpx2.AsyncClient(transport=self._transport_override, timeout=timeout)
            except (ImportError, ValueError) as err:
                # e.g. ALL_PROXY=socks5://… without the socksio package, or a malformed URL.
                pool = httpx2.AsyncClient(
                    transport=self._transport_override, timeout=timeout, trust_env=False
                )
                self.proxy_warning = (
                    f"The proxy settings in the environment cannot be used ({err}); "
                    "connecting directly. Fix or unset HTTPS_PROXY, HTTP_PROXY and ALL_PROXY."
                )
            self._shared = SharedTransport(pool)
        return self._shared

    def check_environment(self) -> str | None:
        """Set up the HTTP pool now and return a warning about the proxy settings, if any."""
        self._pool()
        return self.proxy_warning

    def _http(self) -> httpx2.AsyncClient:
        return self._pool().client

    async def aclose(self) -> None:
        """Close the connection pool. Call once, when the program ends."""
        for _, client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        if self._shared is not None:
            await self._shared.close_pool()

    @property
    def _read_timeout(self) -> float | None:
        return self._timeout

    # -- the authorization-code flow ---------------------------------------

    async def start_authorization(self, account: str) -> PendingAuthorization:
        """Start signing ``account`` in: make the authorization URL (RFC 6749 §4.1.1).

        A fresh random ``state`` and a PKCE S256 ``code_verifier`` (RFC 7636
        §4.1-4.2) are kept with the exact ``redirect_uri`` for 10 minutes, in
        memory and in the secret store, so another process (``ringplus-tui
        authorize ACCOUNT --redirected-url``) or a restarted app can finish it.

        Args:
            account: The account's name.

        Returns:
            The pending authorization; open its ``authorization_url``.

        Raises:
            ConfigError: Unknown account or app.
            SecretStoreError: The keyring failed.
        """
        record = self._settings.account(account)
        app = self._settings.app(record.app)
        client = await self._client(app, need_secret=False)
        now = self.clock()
        self._pending = {s: p for s, p in self._pending.items() if p.expires_at > now}
        state = self._token_factory(32)
        code_verifier = self._token_factory(64)
        # OpenID Connect Core §3.1.2.1: a nonce ties the id_token to this request.
        nonce = self._token_factory(32) if "openid" in app.scopes else None
        extra: dict[str, str] = dict(app.authorization_params)
        if nonce is not None:
            extra["nonce"] = nonce
        url, _ = client.create_authorization_url(
            app.provider.authorization_endpoint,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            scope=" ".join(app.scopes) or None,
            **extra,
        )
        pending = PendingAuthorization(
            account=account,
            app=app.name,
            state=state,
            code_verifier=code_verifier,
            redirect_uri=app.redirect_uri,
            authorization_url=url,
            created_at=now,
            nonce=nonce,
        )
        await self.vault.set(pending_key(account), json.dumps(pending.to_dict()))
        self._pending[state] = pending
        return pending

    async def _find_pending(self, state: str, account: str | None) -> PendingAuthorization | None:
        found = self._pending.get(state)
        if found is not None:
            return found
        names = [account] if account else list(self._settings.accounts)
        for name in names:
            if name not in self._settings.accounts:
                continue
            raw = await self.vault.get(pending_key(name))
            if not raw:
                continue
            try:
                stored = PendingAuthorization.from_dict(json.loads(raw))
            except (ValueError, TypeError, KeyError):
                continue
            if stored.state == state and stored.account == name:
                return stored
        return None

    async def complete_authorization(self, pasted: str, account: str | None = None) -> Account:
        """Finish a sign-in from the pasted redirected URL (RFC 6749 §4.1.2-4.1.4).

        The URL is checked before any request: an ``error=`` response, a
        ``state`` that matches no pending authorization (or an expired one), a
        URL that is not the registered ``redirect_uri``, and a missing ``code``
        are refused without contacting the token endpoint. The URL is routed to
        the account whose pending ``state`` it carries.

        Args:
            pasted: What the person pasted (cleaned here).
            account: Where to look for a pending authorization started by
                another process; ``None`` looks at every account.

        Returns:
            The signed-in account with its new token metadata.

        Raises:
            AuthorizationResponseError: The URL cannot be used (see above).
            TokenEndpointError: The provider refused the code.
            NetworkError: Temporary failure; the pending sign-in is kept, so
                the same URL can be submitted again.
            SecretStoreError: The token could not be stored.
        """
        from ringplus_tui.oauth.redirect import (  # loaded at the first sign-in, not at start-up
            check_issuer_parameter,
            check_redirect_uri,
            parse_authorization_response,
        )

        response = parse_authorization_response(pasted)
        pending = await self._find_pending(response.state, account) if response.state else None
        if pending is not None and response.url is not None and response.error is None:
            # A URL that is not the redirect URI at all is named as that, not as a mix-up.
            check_redirect_uri(response.url, pending.redirect_uri)
        if pending is not None and pending.app in self._settings.apps:
            # RFC 9207 §2.4: check 'iss' before acting on the response, errors included.
            provider = self._settings.apps[pending.app].provider
            check_issuer_parameter(
                response,
                provider.issuer,
                always_sent=provider.authorization_response_iss_parameter_supported,
            )
        if response.error is not None:
            if pending is not None:
                await self._drop_pending(pending)
            response.raise_for_error()
        if not response.state:
            raise StateMismatchError(
                "The URL has no 'state', so it cannot be matched to a sign-in started here. "
                "Copy the whole address bar, or start the sign-in again."
            )
        if pending is None:
            if response.state in self._used_states:
                raise StateMismatchError(
                    "This URL was already used to sign in; an authorization code works "
                    "only once. Start the sign-in again for a new one.",
                    title="URL already used",
                )
            raise StateMismatchError(
                "This URL does not belong to a sign-in started here, or it was already "
                "used. Start the sign-in again and paste the new URL."
            )
        if self.clock() > pending.expires_at:
            await self._drop_pending(pending)
            raise StateMismatchError(
                "This sign-in was started more than 10 minutes ago and has expired. "
                "Start it again and paste the new URL."
            )
        record = self._settings.account(pending.account)
        app = self._settings.app(pending.app)
        client = await self._client(app, need_secret=True)
        self._pending.pop(response.state, None)
        self._used_states.add(response.state)
        try:
            data = await client.fetch_token(
                app.provider.token_endpoint,
                auth=self._client_auth(client, app.provider.token_endpoint_auth_method),
                grant_type="authorization_code",
                code=response.code,
                code_verifier=pending.code_verifier,
                redirect_uri=pending.redirect_uri,
            )
        except Exception as err:
            from ringplus_tui.oauth.http import translate_error

            endpoint = app.provider.token_endpoint
            error = translate_error(err, url=endpoint, timeout=self._read_timeout)
            if isinstance(error, NetworkError):
                # The code may still be good: let the person submit the same URL again.
                self._used_states.discard(response.state)
                self._pending[response.state] = pending
                error = NetworkError(
                    f"{error.message} You can submit the same URL again; if the provider "
                    "then rejects it, the code was used up: start the sign-in over.",
                    retry_after=error.retry_after,
                    title=error.title,
                )
            elif isinstance(error, TokenEndpointError) and error.error == "invalid_grant":
                error = TokenEndpointError(
                    "The provider rejected the authorization code "
                    f"({error.description or 'invalid_grant'}). "
                    "A code works once and only for a few minutes, and must be copied whole: "
                    "start the sign-in again and paste the new URL.",
                    error=error.error,
                    description=error.description,
                    title="Code rejected",
                )
            raise error from err
        token = self._token(data, app, record, previous_refresh_token=None)
        identity = await self._verify_id_token(data, app, pending)
        async with self._account_lock(record.name):
            stored = await self._store_token(record.name, token, refreshed=False)
            if identity is not None:
                stored = await self._update_account(
                    record.name,
                    lambda account: replace(
                        account,
                        subject=identity.subject,
                        email=identity.email,
                        user=identity.label if identity.name or identity.email else None,
                    ),
                )
        await self._drop_pending(pending)
        if app.provider.api_base:
            with contextlib.suppress(RingPlusError):
                stored = await self.update_profile(record.name)
        return stored

    async def _verify_id_token(
        self, data: Mapping[str, Any], app: AppConfig, pending: PendingAuthorization
    ) -> Identity | None:
        """Verify the token response's ``id_token``, if any (OpenID Connect Core §3.1.3.7).

        Returns ``None`` when there is none, or when the app has no issuer or
        ``jwks_uri`` to verify it with (then its claims are not used).

        Raises:
            IdTokenError: It does not verify; the sign-in is refused.
            NetworkError: The key set could not be fetched.
        """
        id_token = data.get("id_token")
        provider = app.provider
        if not isinstance(id_token, str) or not provider.issuer or not provider.jwks_uri:
            return None
        from ringplus_tui.oauth.http import translate_error
        from ringplus_tui.oauth.oidc import fetch_jwks, verify_id_token

        try:
            keys = await fetch_jwks(self._http(), provider.jwks_uri)
        except RingPlusError:
            raise
        except Exception as err:
            raise translate_error(err, url=provider.jwks_uri, timeout=self._read_timeout) from err
        return verify_id_token(
            id_token,
            keys,
            issuer=provider.issuer,
            client_id=app.client_id,
            nonce=pending.nonce,
            now=self.clock(),
        )

    def capturable(self, pending: PendingAuthorization) -> bool:
        """Whether the redirect of ``pending`` can be captured on this machine: its
        ``redirect_uri`` is a loopback address with a port (RFC 8252 §7.3) that is not
        the provider's own (the sandbox serves its demo redirect page itself)."""
        from urllib.parse import urlsplit

        from ringplus_tui.oauth.loopback import loopback_address

        if loopback_address(pending.redirect_uri) is None:
            return False
        app = self._settings.apps.get(pending.app)
        if app is None:
            return False
        own = urlsplit(app.provider.authorization_endpoint).netloc.lower()
        return urlsplit(pending.redirect_uri).netloc.lower() != own

    def listen_for_redirect(self, pending: PendingAuthorization) -> LoopbackListener[Account]:
        """A listener that captures the redirect of ``pending`` on its loopback
        ``redirect_uri`` and finishes the sign-in (RFC 8252 §7.3).

        Use as ``async with service.listen_for_redirect(p) as listener:
        account = await listener.wait()``. Entering binds the port.

        Raises:
            LoopbackUnavailableError: The redirect URI is the provider's own page; or
                (on entering) not a loopback redirect URI with a port, or the port is
                taken. Paste the URL instead.
        """
        from ringplus_tui.oauth.loopback import LoopbackListener, loopback_address

        if loopback_address(pending.redirect_uri) is not None and not self.capturable(pending):
            raise LoopbackUnavailableError(
                "The redirect URI is a page of the provider itself, so there is nothing to "
                "listen for here. Paste the redirected URL instead."
            )

        async def complete(url: str) -> Account:
            return await self.complete_authorization(url, pending.account)

        def describe(account: Account) -> str:
            return f"'{account.name}' is signed in."

        return LoopbackListener(pending.redirect_uri, pending.state, complete, describe=describe)

    async def _drop_pending(self, pending: PendingAuthorization) -> None:
        self._pending.pop(pending.state, None)
        with contextlib.suppress(RingPlusError):
            raw = await self.vault.get(pending_key(pending.account))
            if raw and json.loads(raw).get("state") == pending.state:
                await self.vault.delete(pending_key(pending.account))

    async def sign_in_with_password(self, account: str, username: str, password: str) -> Account:
        """Sign in without the browser: fill the provider's sign-in form (the seed's
        "Avoiding the Redirect Dance").

        Fetches the authorization URL, fills the form's email and password
        fields, allows the consent page if shown, stops at the redirect to the
        registered ``redirect_uri`` and finishes the exchange. Depends on the
        provider's page. The password is used once and never stored or logged.

        Args:
            account: The account's name.
            username: Email or user name at the provider.
            password: The password.

        Returns:
            The signed-in account.

        Raises:
            PasswordSignInError: Wrong password, a changed page, or a consent
                this app cannot give.
            AccessDeniedError: The provider refused access.
            NetworkError: Temporary failure.
            TokenEndpointError: The code exchange failed.
        """
        pending = await self.start_authorization(account)
        app = self._settings.app(pending.app)
        import httpx2

        from ringplus_tui.oauth.http import translate_error
        from ringplus_tui.oauth.password import follow_password_sign_in

        browser = httpx2.AsyncClient(
            transport=self._pool(), timeout=self._http().timeout, follow_redirects=False
        )
        try:
            redirected = await follow_password_sign_in(
                browser, pending.authorization_url, pending.redirect_uri, username, password
            )
        except RingPlusError:
            await self._drop_pending(pending)
            raise
        except Exception as err:
            from ringplus_tui.oauth.http import translate_error

            await self._drop_pending(pending)
            error = translate_error(
                err, url=app.provider.authorization_endpoint, timeout=self._read_timeout
            )
            raise error from err
        finally:
            await browser.aclose()
            del password
        return await self.complete_authorization(redirected, account)

    def _token(
        self,
        data: Mapping[str, Any],
        app: AppConfig,
        account: Account,
        *,
        previous_refresh_token: str | None,
    ) -> Token:
        return token_from_response(
            dict(data),
            now=self.clock(),
            default_lifetime=app.provider.default_token_lifetime,
            requested_scope=account.scope or app.scopes,
            previous_refresh_token=previous_refresh_token,
        )

    async def _store_token(self, name: str, token: Token, *, refreshed: bool) -> Account:
        # The refresh token goes first: a rotated one must never be lost, even
        # if storing the access token then fails.
        if token.refresh_token:
            await self.vault.set(refresh_token_key(name), token.refresh_token)
        else:
            await self.vault.delete(refresh_token_key(name))
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

        return await self._update_account(name, change)

    # -- the provider's API ---------------------------------------------------

    async def fetch_profile(self, name: str) -> Profile:
        """Ask the provider's API who the account is and which phone lines it has.

        Raises:
            ConfigError: Unknown account, or the app has no API base URL.
            NeedsSignInError: No access token, or the API refused it (HTTP 401).
            NetworkError: Temporary failure.
        """
        account = self._settings.account(name)
        app = self._settings.app(account.app)
        base = (app.provider.api_base or "").rstrip("/")
        if not base:
            raise ConfigError(f"The app '{app.name}' has no API base URL.")
        token = await self.vault.get(access_token_key(name))
        if not token:
            raise NeedsSignInError(f"'{name}' is not signed in. {_sign_in_hint(name)}")
        from ringplus_tui.oauth.http import translate_error
        from ringplus_tui.oauth.provider_api import fetch_profile

        try:
            return await fetch_profile(
                self._http(),
                base,
                token,
                account=name,
                token_placement=app.provider.token_placement,
            )
        except RingPlusError:
            raise
        except Exception as err:
            raise translate_error(err, url=base, timeout=self._read_timeout) from err

    async def update_profile(self, name: str) -> Account:
        """Fetch the profile and store the user and number of phone lines.

        Raises:
            The errors of :meth:`fetch_profile`.
        """
        profile = await self.fetch_profile(name)
        return await self._update_account(
            name,
            lambda account: replace(account, user=profile.user, phone_lines=len(profile.lines)),
        )

    # -- refresh -------------------------------------------------------------

    def _lock_path(self, name: str) -> Path:
        digest = hashlib.sha256(name.encode()).hexdigest()[:20]
        return self._store.directory / "locks" / f"{digest}.lock"

    def _account_lock(self, name: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold ``name``'s lock file: one refresh per account across processes."""
        return account_lock(self._lock_path(name), name)

    async def refresh(self, account: str, *, force: bool = True) -> Account:
        """Refresh ``account``'s access token (RFC 6749 §6).

        One refresh per account at a time: in this process a second call waits
        for the first one's result; across processes a lock file is held, and
        inside it the stored token is read again, so a token another process
        just refreshed is used instead of refreshing twice. A response without
        a refresh token keeps the old one. A failure never deletes or
        overwrites a stored token.

        Args:
            account: The account's name.
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
        running = self._refreshing.get(account)
        if running is None:
            running = asyncio.ensure_future(self._refresh(account, force=force))
            self._refreshing[account] = running
            running.add_done_callback(lambda done: self._refresh_done(account, done))
        # Shielded: if the caller is cancelled, the refresh still finishes and
        # stores a rotated refresh token.
        return await asyncio.shield(running)

    def _refresh_done(self, account: str, done: asyncio.Future[Account]) -> None:
        self._refreshing.pop(account, None)
        if not done.cancelled():
            done.exception()  # retrieved here, so an abandoned refresh never warns

    async def _refresh(self, name: str, *, force: bool) -> Account:
        seen = self._settings.account(name)
        async with self._account_lock(name):
            with contextlib.suppress(ConfigError):
                await self.reload()
            record = self._settings.account(name)
            if force and record.obtained_at != seen.obtained_at:
                return record  # another process refreshed it while we waited
            if not record.signed_in:
                raise NeedsSignInError(f"'{name}' is not signed in. {_sign_in_hint(name)}")
            if not force and not refresh_due(record, self.clock()):
                return record
            app = self._settings.app(record.app)
            refresh_token = await self.vault.get(refresh_token_key(name))
            if not refresh_token:
                raise NeedsSignInError(
                    f"'{name}' has no refresh token, so it cannot be refreshed. "
                    f"{_sign_in_hint(name)}"
                )
            client = await self._client(app, need_secret=True)
            try:
                data = await client.refresh_token(
                    app.provider.token_endpoint,
                    refresh_token=refresh_token,
                    auth=self._client_auth(client, app.provider.token_endpoint_auth_method),
                )
            except Exception as err:
                from ringplus_tui.oauth.http import translate_error

                endpoint = app.provider.token_endpoint
                error = translate_error(err, url=endpoint, timeout=self._read_timeout)
                if isinstance(error, TokenEndpointError) and error.error == "invalid_grant":
                    error = NeedsSignInError(
                        f"The provider no longer accepts the refresh token of '{name}' "
                        f"({error.description or 'invalid_grant'}); the stored token was "
                        f"kept. {_sign_in_hint(name)}",
                        error=error.error,
                        description=error.description,
                    )
                    with contextlib.suppress(RingPlusError):
                        await self._update_account(
                            name, lambda account: replace(account, needs_sign_in=True)
                        )
                raise error from err
            token = self._token(data, app, record, previous_refresh_token=refresh_token)
            stored = await self._store_token(name, token, refreshed=True)
        if stored.user is None and app.provider.api_base:
            with contextlib.suppress(RingPlusError):
                stored = await self.update_profile(name)
        return stored

    async def valid_access_token(self, name: str) -> str:
        """Return an access token for ``name`` that is not inside its refresh margin,
        refreshing first when needed (for scripts: ``ringplus-tui token``).

        Never returns a token that has expired or that belongs to an account
        whose refresh token the provider rejected.

        Raises:
            NeedsSignInError: Not signed in, the refresh token was rejected, or the
                token expired and cannot be refreshed.
            The other errors of :meth:`refresh`.
        """
        with contextlib.suppress(ConfigError):
            await self.reload()
        record = self._settings.account(name)
        if not record.signed_in:
            raise NeedsSignInError(f"'{name}' is not signed in. {_sign_in_hint(name)}")
        if refresh_due(record, self.clock()) or (
            record.expires_at is not None and record.expires_at <= self.clock()
        ):
            record = await self.refresh(name, force=False)
        if record.needs_sign_in:
            raise NeedsSignInError(
                f"The provider rejected the refresh token of '{name}'. {_sign_in_hint(name)}"
            )
        if record.expires_at is None or record.expires_at <= self.clock():
            raise NeedsSignInError(
                f"The access token of '{name}' has expired and cannot be refreshed. "
                f"{_sign_in_hint(name)}"
            )
        token = await self.vault.get(access_token_key(name))
        if not token:
            raise NeedsSignInError(f"No access token is stored for '{name}'. {_sign_in_hint(name)}")
        return token

    async def refresh_all(
        self,
        names: Sequence[str],
        *,
        limit: int = REFRESH_ALL_LIMIT,
        on_done: Callable[[str, Account | RingPlusError], Awaitable[None] | None] | None = None,
    ) -> dict[str, Account | RingPlusError]:
        """Refresh several accounts at once, at most ``limit`` at a time.

        Tokens go to the secret store as each refresh finishes (a rotated refresh
        token at once); the settings file is written once, at the end, so a
        thousand accounts cost one write, not a thousand.

        Args:
            names: The accounts.
            limit: How many refreshes run concurrently (default 8).
            on_done: Called after each account with its account or its error.

        Returns:
            Each account's new record, or the error it met.
        """
        gate = asyncio.Semaphore(max(1, limit))
        results: dict[str, Account | RingPlusError] = {}
        batching = self._batch is None
        if batching:
            self._batch = {}

        async def one(name: str) -> None:
            async with gate:
                try:
                    outcome: Account | RingPlusError = await self.refresh(name)
                except RingPlusError as err:
                    outcome = err
            results[name] = outcome
            if on_done is not None:
                maybe = on_done(name, outcome)
                if maybe is not None:
                    await maybe

        try:
            await asyncio.gather(*(one(name) for name in names))
        finally:
            if batching:
                await self._flush_batch()
        return results

    async def _flush_batch(self) -> None:
        """Write the account changes kept during :meth:`refresh_all`, in one settings write."""
        batch, self._batch = self._batch or {}, None
        if not batch:
            return

        def apply(settings: Settings) -> Settings:
            for name, change in batch.items():
                if name in settings.accounts:
                    settings = settings.with_account(change(settings.accounts[name]))
            return settings

        await self._update(apply)

    # -- revoke and forget ---------------------------------------------------

    async def forget(self, name: str) -> Account:
        """Remove ``name``'s tokens from this machine only; the account stays, signed out.

        Raises:
            ConfigError: Unknown account.
            SecretStoreError: The keyring failed.
        """
        self._settings.account(name)
        async with self._account_lock(name):
            for key in (access_token_key, refresh_token_key):
                await self.vault.delete(key(name))

            def change(account: Account) -> Account:
                return Account(
                    name=account.name,
                    app=account.app,
                    auto_refresh=account.auto_refresh,
                    refresh_margin=account.refresh_margin,
                )

            return await self._update_account(name, change)

    async def revoke(self, name: str) -> Account:
        """Revoke ``name``'s tokens at the provider (RFC 7009), then forget them here.

        The refresh token is revoked first (which, per RFC 7009 §2.1, may also
        end its access tokens), then the access token. Without a revocation
        endpoint this is the same as :meth:`forget`.

        Raises:
            ConfigError: Unknown account or app.
            NetworkError: The provider could not be reached; nothing was removed.
            TokenEndpointError: The provider refused; nothing was removed.
            SecretStoreError: The keyring failed.
        """
        record = self._settings.account(name)
        app = self._settings.app(record.app)
        endpoint = app.provider.revocation_endpoint
        if endpoint:
            import httpx2

            from ringplus_tui.oauth.http import translate_error

            client = await self._client(app, need_secret=True)
            tokens = [
                (await self.vault.get(refresh_token_key(name)), "refresh_token"),
                (await self.vault.get(access_token_key(name)), "access_token"),
            ]
            for value, hint in tokens:
                if not value:
                    continue
                try:
                    response = await client.revoke_token(
                        endpoint,
                        token=value,
                        token_type_hint=hint,
                        auth=self._client_auth(client, app.provider.token_endpoint_auth_method),
                    )
                    if response.status_code != 200:  # RFC 7009 §2.2: 200 even if unknown
                        response.raise_for_status()
                        raise httpx2.HTTPStatusError(
                            f"HTTP {response.status_code}",
                            request=response.request,
                            response=response,
                        )
                except Exception as err:
                    from ringplus_tui.oauth.http import translate_error

                    raise translate_error(err, url=endpoint, timeout=self._read_timeout) from err
        return await self.forget(name)
